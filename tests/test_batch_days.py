"""``run DIGEST... --batch`` over several days behaves as a backfill (pipeline.backfill): one
backfill summary (``backfill.json`` and the table), unreadable days reported while the others go
on, unchanged days neither planned nor written again, the same refusals (``--ids``, two digests
writing one output folder), and a summary of how far it got when it stops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.batch_cli import batch_options, direct_calls, read_json
from support.days import write_days
from support.fake_batch_server import FakeBatchServer
from support.cli import run_cli
from support.paths import CONFIG
from support.pipeline_responder import pipeline_responder

from pipeline.app import RunOptions
from pipeline.batch.app import execute_batch_run
from pipeline.batch.driver import BatchOptions
from pipeline.batch.poll import PollPolicy
from pipeline.events import Event

DAYS = {"2026-06-16": (0, 2), "2026-06-17": (1, 3), "2026-06-18": (3, 5)}


def test_an_unreadable_day_in_batch_mode_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    write_days(tmp_path / "data", {"2026-06-16": (0, 2), "2026-06-18": (2, 4)})
    (tmp_path / "data" / "2026-06-17.md").write_text("just some notes, no digest\n", encoding="utf-8")
    (tmp_path / "data" / "2026-06-19.jsonl").write_text("{}\n", encoding="utf-8")  # a raw crawl file: left out
    with FakeBatchServer(responder=pipeline_responder) as server:
        result = run_cli("run", tmp_path / "data", *batch_options(server.base_url, tmp_path), "--json")
        assert direct_calls(server) == 0 and [len(b.lines) for b in server.batches.values()] == [4, 4]
    assert result.exit_code == 2, result.output  # the worst day's
    backfill = json.loads(result.stdout)["backfill"]
    assert [d["outcome"] for d in backfill["days"]] == ["done", "error", "done"]
    assert "2026-06-17.md" in backfill["days"][1]["error"] and backfill["days"][2]["status_counts"]["ok"] == 2
    assert any("2026-06-19.jsonl" in line for line in backfill["skipped_files"])
    assert read_json(tmp_path / "out" / "backfill.json") == backfill


def test_a_warm_rerun_plans_and_writes_no_unchanged_day(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    with FakeBatchServer(responder=pipeline_responder) as server:
        assert run_cli("run", *files, *batch_options(server.base_url, tmp_path)).exit_code == 0
        batches = len(server.batches)
        run_json = tmp_path / "out" / "2026-06-17_AI_enhanced_Chinese" / "run.json"
        before = run_json.read_bytes()
        warm = run_cli("run", *files, *batch_options(server.base_url, tmp_path), "--json")
        assert warm.exit_code == 0, warm.output
        assert len(server.batches) == batches and direct_calls(server) == 0
        backfill = json.loads(warm.stdout)["backfill"]
        assert [d["outcome"] for d in backfill["days"]] == ["unchanged"] * 3
        assert [d["reused"] for d in backfill["days"]] == [0, 1, 0] and backfill["totals"]["model_calls"] == 0
        assert run_json.read_bytes() == before  # not written again
        files[1].write_text(files[1].read_text(encoding="utf-8") + "\n", encoding="utf-8")  # day 2's file changed
        changed = run_cli("run", *files, *batch_options(server.base_url, tmp_path), "--json")
        assert changed.exit_code == 0, changed.output
        assert len(server.batches) == batches and direct_calls(server) == 0  # its answers are in the cache
    days = json.loads(changed.stdout)["backfill"]["days"]
    assert [d["outcome"] for d in days] == ["unchanged", "done", "unchanged"]


@pytest.mark.parametrize(("stop", "why", "code"), [(KeyboardInterrupt, "interrupted (Ctrl-C)", 130),
                                                   (lambda: OSError(28, "No space left on device"), "No space", 2)])
def test_a_stopped_batch_run_says_how_far_it_got(tmp_path: Path, stop, why: str, code: int) -> None:
    files = write_days(tmp_path / "data", DAYS)

    def stop_on_the_second_day(event: Event) -> None:
        if event.kind == "run_started" and stop_on_the_second_day.days == 1:
            raise stop()
        stop_on_the_second_day.days += event.kind == "run_started"
    stop_on_the_second_day.days = 0

    with FakeBatchServer(responder=pipeline_responder) as server:
        options = RunOptions(config=CONFIG, provider="openai", base_url=server.base_url, out_dir=tmp_path / "out",
                             cache_dir=tmp_path / "cache")
        with pytest.raises((KeyboardInterrupt, OSError)):
            execute_batch_run(files, options, BatchOptions(poll=PollPolicy(first=0.005)),
                              listener=stop_on_the_second_day)
    backfill = read_json(tmp_path / "out" / "backfill.json")
    assert [d["outcome"] for d in backfill["days"]] == ["done", "stopped", "not_started"]
    assert why in backfill["stopped"] and backfill["exit_code"] == code  # what the command exits with
    assert backfill["days"][0]["status_counts"]["ok"] == 2


def test_a_folder_of_one_day_is_a_backfill_too(tmp_path: Path) -> None:
    write_days(tmp_path / "data", {"2026-06-16": (0, 2)})
    with FakeBatchServer(responder=pipeline_responder) as server:
        ids = run_cli("run", tmp_path / "data", *batch_options(server.base_url, tmp_path), "--ids", "2601.16272")
        assert ids.exit_code == 2 and "--ids selects papers of one digest" in ids.stderr and not server.batches
        first = run_cli("run", tmp_path / "data", *batch_options(server.base_url, tmp_path), "--json")
        again = run_cli("run", tmp_path / "data", *batch_options(server.base_url, tmp_path), "--json")
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert [d["outcome"] for d in json.loads(first.stdout)["backfill"]["days"]] == ["done"]
    assert [d["outcome"] for d in json.loads(again.stdout)["backfill"]["days"]] == ["unchanged"]
    assert read_json(tmp_path / "out" / "backfill.json")["days"][0]["papers"] == 2


def test_the_refusals_of_a_backfill(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    other = write_days(tmp_path / "other", {"2026-06-16": (3, 5)})
    with FakeBatchServer(responder=pipeline_responder) as server:
        ids = run_cli("run", *files, *batch_options(server.base_url, tmp_path), "--ids", "2601.16272")
        shared = run_cli("run", files[0], other[0], *batch_options(server.base_url, tmp_path))
        dry = run_cli("run", *files, *batch_options(server.base_url, tmp_path), "--dry-run")
        assert not server.batches and direct_calls(server) == 0
    assert ids.exit_code == 2 and "--ids selects papers of one digest" in ids.stderr
    assert shared.exit_code == 2 and "writes the same output folder" in shared.stderr
    assert dry.exit_code == 2 and "--dry-run" in dry.stderr and "not with --batch" in dry.stderr
    for result in (ids, shared, dry):
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("run.json"))
