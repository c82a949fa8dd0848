"""``run DIGEST --batch`` end to end: the openai provider against the loopback Batch API server
(validating -> in_progress -> completed, injected failed lines, expired and rejected batches);
outputs written with no direct chat call, warm re-runs submit nothing, failed lines retried."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from support.batch_cli import batch_options, direct_calls, input_keys, openai_options, read_json
from support.cli import fake_options, run_cli
from support.fake_batch_server import FakeBatchServer
from support.fake_openai_server import FakeOpenAIServer
from support.paths import SEED
from support.pipeline_responder import pipeline_responder

from pipeline.app import RunOptions
from pipeline.batch.app import execute_batch_run
from pipeline.batch.client import BatchClient
from pipeline.batch.driver import BatchOptions
from pipeline.batch.poll import PollPolicy
from pipeline.batch.state import STATE_NAME

GOOD = {"ok", "repaired"}


def _out(tmp_path: Path) -> Path:
    return tmp_path / "out" / "seed-digest"


def _statuses(tmp_path: Path) -> Counter[str]:
    """Statuses of every paper ``digest.json`` lists (the unselected ones ``skipped``)."""
    return Counter(p["validation"]["status"] for p in read_json(_out(tmp_path) / "digest.json")["papers"])


def test_part_of_the_sample_completes_with_no_direct_call_and_a_warm_rerun_submits_nothing(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:
        first = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "4")
        assert first.exit_code == 0, first.output
        assert direct_calls(server) == 0
        batches = list(server.batches.values())
        assert len(batches) == 2 and all(b.status == "completed" for b in batches)
        assert [len(b.lines) for b in batches] == [4, 4]  # each paper's fields in one line, then 4 re-summaries
        run = read_json(_out(tmp_path) / "run.json")
        assert run["papers"] == 4 and run["not_selected"] == 125 and set(run["status_counts"]) >= {"ok"}
        assert run["model_calls"] == 8 and run["cache_hits"] == 0 and _statuses(tmp_path)["skipped"] == 125
        tokens = run["prompt_tokens"] * 0.15 + run["completion_tokens"] * 0.6
        assert run["cost"] == pytest.approx(tokens / 1e6 * 0.5)  # gpt-4o-mini: batch_discount 0.5
        assert "round 2: batch" in first.stderr and "completed; 4 answers into the cache" in first.stderr
        state = read_json(tmp_path / "out" / STATE_NAME)
        assert [(b["id"], b["status"], b["lines"]) for b in state["batches"]] == [(b.id, "imported", len(b.lines))
                                                                                   for b in batches]
        uploads = len(server.requests_to("POST", "/v1/files"))
        warm = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "4", "--json")
        assert warm.exit_code == 0, warm.output
        assert len(server.requests_to("POST", "/v1/files")) == uploads and len(server.batches) == 2
        assert direct_calls(server) == 0
        report = json.loads(warm.stdout)
        assert report["batch"]["rounds"] == 0 and report["batch"]["requests"] == 0
        assert report["runs"][0]["model_calls"] == 0 and report["runs"][0]["cost"] == 0


def test_the_whole_sample_completes_in_two_rounds_with_no_direct_call(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:
        result = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--json")
        assert result.exit_code == 0, result.output[-2000:]
        assert direct_calls(server) == 0
    report = json.loads(result.stdout)
    run = report["runs"][0]
    assert report["batch"]["rounds"] == 2 and report["batch"]["unanswered"] == 0
    assert report["batch"]["requests"] == report["batch"]["answers"] == run["model_calls"]
    assert run["papers"] == 129 and set(_statuses(tmp_path)) <= GOOD and sum(_statuses(tmp_path).values()) == 129
    assert len(list((_out(tmp_path) / "papers").glob("*.json"))) == 129  # every paper written


def test_failed_and_expired_lines_are_sent_again_in_the_next_round(tmp_path: Path) -> None:
    failing = {(0, 0), (0, 2)}
    with FakeBatchServer(responder=pipeline_responder, fail_line=lambda b, i, line: (b, i) in failing,
                         expire=lambda b: 0.5 if b == 1 else None) as server:
        result = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "3")
        assert result.exit_code == 0, result.output
        assert direct_calls(server) == 0
        batches = list(server.batches.values())
    first, second = input_keys(server, batches[0]), input_keys(server, batches[1])
    failed = [first[i] for _, i in sorted(failing)]
    assert set(failed) <= set(second)  # failed lines: in the next round's batch
    expired = second[len(second) // 2:]
    assert batches[1].status == "expired" and set(expired) <= set(input_keys(server, batches[2]))
    seen = Counter(key for batch in batches for key in input_keys(server, batch))
    assert {key for key, n in seen.items() if n > 1} == set(failed) | set(expired)  # nothing else sent twice
    statuses = _statuses(tmp_path)
    assert "lines without an answer" in result.stderr
    assert statuses["skipped"] == 126 and set(statuses) <= GOOD | {"skipped"}  # the 3 selected papers: done


def _about_fettl(batch: int, index: int, line: dict) -> bool:
    return "FeTTL" in json.dumps(line["body"], ensure_ascii=False)


def test_lines_that_never_get_an_answer_fail_their_paper_without_a_direct_call(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder, fail_line=_about_fettl) as server:
        result = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--ids", "2601.16272,2601.16302")
        assert result.exit_code == 1, result.output
        assert direct_calls(server) == 0
        assert len(server.batches) == 3  # the failing lines: sent 3 times (1 + 2 retries), then given up
        fettl = read_json(_out(tmp_path) / "papers" / "2601.16302.json")
        assert fettl["validation"]["status"] == "failed"
        issue = fettl["validation"]["issues"][0]
        assert issue["check"] == "provider" and "no answer from the batch engine" in issue["message"]
        assert "sent 3 time(s)" in issue["message"] and "--allow-direct" in issue["message"]
        assert read_json(_out(tmp_path) / "papers" / "2601.16272.json")["validation"]["status"] in GOOD
        assert "requests have no answer: their papers are written failed" in result.stderr
        direct = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--ids", "2601.16302",
                         "--allow-direct")
        assert direct.exit_code == 0, direct.output
        assert direct_calls(server) > 0
    assert read_json(_out(tmp_path) / "papers" / "2601.16302.json")["validation"]["status"] in GOOD


def test_a_batch_that_fails_validation_is_sent_again(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder,
                         reject=lambda b: "Enqueued token limit reached" if b == 0 else None) as server:
        result = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "2")
        assert result.exit_code == 0, result.output
        batches = list(server.batches.values())
    assert batches[0].status == "failed" and input_keys(server, batches[0]) == input_keys(server, batches[1])
    assert "Enqueued token limit reached" in result.stderr


def test_requests_beyond_the_line_limit_go_into_several_batches(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:
        options = RunOptions(config=Path(str(openai_options(server.base_url, tmp_path)[1])), provider="openai",
                             base_url=server.base_url, out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", limit=3)
        events = []
        result = execute_batch_run([SEED], options, BatchOptions(max_lines=2, poll=PollPolicy(first=0.001)),
                                   on_batch=events.append)
        assert direct_calls(server) == 0
    assert [len(b.lines) for b in server.batches.values()] == [2, 1, 2, 1]  # 3 papers: their fields, their TL;DRs
    assert [e.round for e in events if e.kind == "submitted"] == [1, 1, 2, 2]
    assert result.report.answers == 6 and {d.validation.status for d in result.runs[0].documents} <= GOOD


def test_batch_mode_needs_a_provider_with_a_batch_engine_and_the_disk_cache(tmp_path: Path) -> None:
    fake = run_cli("run", SEED, *fake_options(tmp_path), "--batch", "--limit", "1")
    assert fake.exit_code == 2 and "the fake provider has no batch engine" in fake.stderr
    assert len(fake.stderr.strip().splitlines()) == 1 and not (tmp_path / "out" / "seed-digest").exists()
    alone = run_cli("run", SEED, *fake_options(tmp_path), "--allow-direct")
    assert alone.exit_code == 2 and "--allow-direct: only with --batch" in alone.stderr
    memory = run_cli("run", SEED, *fake_options(tmp_path), "--batch", "--no-cache")
    assert memory.exit_code == 2 and "needs the disk cache" in memory.stderr


def test_a_server_without_the_batch_api_is_one_line_exit_2(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=pipeline_responder, models=None) as server:
        result = run_cli("run", SEED, *openai_options(server.base_url, tmp_path), "--batch", "--limit", "1")
        assert result.exit_code == 2, result.output
        assert "the server has no Batch API" in result.stderr and "batch export" in result.stderr
        assert server.requests_to("/v1/chat/completions") == []


def test_requests_left_when_the_round_limit_comes_fail_their_papers_with_the_reason(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:
        options = RunOptions(config=Path(str(openai_options(server.base_url, tmp_path)[1])), provider="openai",
                             base_url=server.base_url, out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", limit=2)
        result = execute_batch_run([SEED], options, BatchOptions(max_rounds=1, poll=PollPolicy(first=0.001)))
        assert direct_calls(server) == 0 and len(server.batches) == 1
    assert result.report.rounds == 1 and len(result.report.unanswered) == 2 and result.report.left == 2
    for document in result.runs[0].documents:
        assert document.validation.status == "failed"
        message = document.validation.issues[0].message
        assert "resummarize request" in message and "not sent: the round limit (1) came first" in message


def test_a_batch_cancelled_at_the_provider_is_imported_as_far_as_it_went_and_sent_again(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder, hold=True) as server:
        outcome: list = []
        worker = threading.Thread(target=lambda: outcome.append(
            run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "2")))
        worker.start()
        held = server.wait_for_status("in_progress")
        client = BatchClient(base_url=server.base_url)
        assert client.cancel(held.id).status == "cancelling"
        client.close()
        server.release()
        worker.join(timeout=60)
        result = outcome[0]
        assert result.exit_code == 0, result.output
        batches = list(server.batches.values())
        assert batches[0].status == "cancelled" and direct_calls(server) == 0
        assert set(input_keys(server, batches[0])) <= set(input_keys(server, batches[1]))
    assert "batch_2: cancelling" in result.stderr and "batch_cancelled" in result.stderr


def test_several_days_in_batch_mode_reuse_papers_of_earlier_days(tmp_path: Path) -> None:
    from support.days import write_days

    # day 2 repeats papers 2-3 of day 1 (same abstract, rewritten Chinese) and adds papers 4-5
    files = write_days(tmp_path / "data", {"2026-06-16": (0, 4), "2026-06-17": (2, 6)})
    with FakeBatchServer(responder=pipeline_responder) as server:
        result = run_cli("run", *files, *batch_options(server.base_url, tmp_path))
        assert result.exit_code == 0, result.output
        assert direct_calls(server) == 0
        sent = [len(b.lines) for b in server.batches.values()]
        assert sent == [6, 6]  # 6 distinct papers: fields, then re-summaries; the 2 repeats not sent
    counts = [tuple(map(int, m)) for m in re.findall(r"^(\d+)/(\d+) papers", result.output, re.M)]
    assert counts and all(done <= total == 4 for done, total in counts)  # each day's progress, not past it
    second = read_json(tmp_path / "out" / "2026-06-17_AI_enhanced_Chinese" / "run.json")
    assert second["papers"] == 4 and second["reused"] == 2 and second["status_counts"].get("failed", 0) == 0
    reused = read_json(tmp_path / "out" / "2026-06-17_AI_enhanced_Chinese" / "papers" /
                       f"{json.loads(files[1].read_text(encoding='utf-8').splitlines()[0])['id']}.json")
    assert reused["provenance"]["reused_from"]["day"] == "2026-06-16_AI_enhanced_Chinese"
    backfill = read_json(tmp_path / "out" / "backfill.json")  # the same summary as a backfill without --batch
    assert [(d["day"], d["outcome"], d["papers"], d["reused"]) for d in backfill["days"]] == [
        ("2026-06-16", "done", 4, 0), ("2026-06-17", "done", 4, 2)]
    totals = backfill["totals"]
    assert (totals["papers"], totals["distinct_papers"], totals["reused"], totals["model_calls"]) == (8, 6, 2, 12)
    assert backfill["exit_code"] == 0 and "backfill" in result.stderr and "2026-06-17" in result.stderr

