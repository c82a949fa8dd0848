"""``run DIGEST...``: several days in one run, in date order, each into its own folder; papers of
an earlier day reused; an unreadable day reported while the others go on; a warm re-run skips
every unchanged day; resumable after kill -9."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli import default_sigint, fake_options, run_cli
from support.days import write_days
from support.paths import CONFIG, REPO

from pipeline.days import select_days

DAYS = {"2026-06-16": (0, 8), "2026-06-17": (4, 12), "2026-06-18": (8, 14)}
"""Three days of the sample's papers; days 2 and 3 repeat 4 papers of the day before."""


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _day(tmp_path: Path, day: str) -> Path:
    return tmp_path / "out" / f"{day}_AI_enhanced_Chinese"


def test_a_folder_gives_one_digest_a_day_and_names_what_it_leaves_out(tmp_path: Path) -> None:
    archive = tmp_path / "data"
    write_days(archive, {"2026-06-17": (0, 2), "2026-06-16": (0, 2)})
    for name in ("2026-06-16.md", "2026-06-16.jsonl", "2026-06-16_AI_enhanced_English.jsonl", "notes.txt"):
        (archive / name).write_text("x\n", encoding="utf-8")
    selection = select_days([archive])
    assert [d.path.name for d in selection.days] == ["2026-06-16_AI_enhanced_Chinese.jsonl",
                                                     "2026-06-17_AI_enhanced_Chinese.jsonl"]
    reasons = {Path(line.split(": ", 1)[0]).name: line.split(": ", 1)[1] for line in selection.skipped}
    assert reasons == {"2026-06-16.md": "2026-06-16_AI_enhanced_Chinese.jsonl is used for 2026-06-16",
                       "2026-06-16.jsonl": "a raw crawl file (no AI summaries)",
                       "2026-06-16_AI_enhanced_English.jsonl": "an English data file (our own output)",
                       "notes.txt": "not a daily digest name (<date>_AI_enhanced_<Language>.jsonl or <date>.md)"}


def test_several_days_each_into_its_own_folder_with_papers_of_earlier_days_reused(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    result = run_cli("run", *reversed(files), *fake_options(tmp_path), "--json")  # given out of order
    assert result.exit_code == 0, result.output
    backfill = json.loads(result.stdout)
    assert [d["day"] for d in backfill["days"]] == sorted(DAYS)  # date order
    assert [d["reused"] for d in backfill["days"]] == [0, 4, 4]
    assert [d["model_calls"] for d in backfill["days"]] == [16, 8, 4]  # two calls a paper not reused
    totals = backfill["totals"]
    assert (totals["papers"], totals["distinct_papers"], totals["reused"], totals["model_calls"]) == (22, 14, 8, 28)
    assert _json(tmp_path / "out" / "backfill.json") == backfill
    day2 = _day(tmp_path, "2026-06-17")
    assert _json(day2 / "run.json")["reused"] == 4 and len(list((day2 / "papers").glob("*.json"))) == 8
    reused = _json(day2 / "papers" / "2601.16394.json")  # the sample's 5th paper: on days 1 and 2
    assert reused["provenance"]["reused_from"]["day"] == "2026-06-16_AI_enhanced_Chinese"
    assert reused["provenance"]["usage"]["calls"] == 0 and reused["validation"]["status"] == "ok"
    assert "（重述）" not in json.dumps(reused["source"], ensure_ascii=False)  # the text that was translated
    assert (day2 / "2026-06-17_AI_enhanced_English.jsonl").is_file()


def test_no_reuse_translates_each_days_own_text(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    result = run_cli("run", *files, *fake_options(tmp_path), "--json", "--no-reuse")
    backfill = json.loads(result.stdout)
    assert backfill["totals"]["reused"] == 0 and backfill["totals"]["model_calls"] == 2 * 22


def test_nightly_runs_under_one_output_root_reuse_the_earlier_nights(tmp_path: Path) -> None:
    first, second, _ = write_days(tmp_path / "data", DAYS)
    assert run_cli("run", first, *fake_options(tmp_path)).exit_code == 0
    night = run_cli("run", second, *fake_options(tmp_path), "--json")
    summary = json.loads(night.stdout)
    assert summary["reused"] == 4 and summary["model_calls"] == 8


def _fails_once(request) -> str:
    """Every field of the sample's first paper echoed back (it fails); the rest as the fake answers."""
    from support.responders import with_fields

    return with_fields(request, lambda paper, field, source: source if paper == "2601.16272" else None)


def test_a_paper_that_failed_on_an_earlier_day_is_done_again(tmp_path: Path, fake_provider) -> None:
    first, second, _ = write_days(tmp_path / "data", {"2026-06-16": (0, 2), "2026-06-17": (0, 2),
                                                      "2026-06-18": (0, 1)})
    failing = fake_provider(_fails_once)
    assert run_cli("run", first, *fake_options(tmp_path), "--provider", failing).exit_code == 1
    again = json.loads(run_cli("run", second, *fake_options(tmp_path), "--json").stdout)
    assert again["reused"] == 1  # the paper that passed; the failed one was translated again
    assert _json(_day(tmp_path, "2026-06-17") / "papers" / "2601.16272.json")["validation"]["status"] == "ok"


def test_an_unreadable_day_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    write_days(tmp_path / "data", {"2026-06-16": (0, 2), "2026-06-18": (2, 4)})
    (tmp_path / "data" / "2026-06-17.md").write_text("just some notes, no digest\n", encoding="utf-8")
    result = run_cli("run", tmp_path / "data", *fake_options(tmp_path), "--json")
    assert result.exit_code == 2, result.output
    days = json.loads(result.stdout)["days"]
    assert [d["outcome"] for d in days] == ["done", "error", "done"]
    assert "2026-06-17.md" in days[1]["error"] and (_day(tmp_path, "2026-06-18") / "run.json").is_file()


def test_a_warm_rerun_skips_every_unchanged_day(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    assert run_cli("run", *files, *fake_options(tmp_path)).exit_code == 0
    run_json = _day(tmp_path, "2026-06-16") / "run.json"
    before = run_json.read_bytes()
    warm = json.loads(run_cli("run", *files, *fake_options(tmp_path), "--json").stdout)
    assert [d["outcome"] for d in warm["days"]] == ["unchanged"] * 3
    assert warm["totals"]["model_calls"] == 0 and warm["totals"]["papers"] == 22
    # what the days' documents hold, as their last run wrote them: 4 + 4 papers carried from earlier days
    assert [d["reused"] for d in warm["days"]] == [0, 4, 4] and warm["totals"]["reused"] == 8
    assert run_json.read_bytes() == before
    files[1].write_text(files[1].read_text(encoding="utf-8") + "\n", encoding="utf-8")  # day 2's file changed
    changed = json.loads(run_cli("run", *files, *fake_options(tmp_path), "--json").stdout)
    assert [d["outcome"] for d in changed["days"]] == ["unchanged", "done", "unchanged"]
    assert changed["totals"]["model_calls"] == 0  # its answers come from the cache and the reuse index


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_backfill_killed_mid_way_resumes_where_it_stopped(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    command = [sys.executable, "-m", "pipeline.cli", "run", *map(str, files), "--config", str(CONFIG),
               "--provider", "fake", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--json"]
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    command += ["--set", "providers.fake.settings.latency=0.3", "--concurrency", "1"]
    slow = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((_day(tmp_path, "2026-06-17") / "papers").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(timeout=30)
    assert (_day(tmp_path, "2026-06-16") / "run.json").is_file()  # day 1 finished before the kill
    resumed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    days = json.loads(resumed.stdout)["days"]
    assert days[0]["outcome"] == "unchanged" and all(d["papers"] == n for d, n in zip(days, (8, 8, 6)))
    assert sum(d["model_calls"] for d in days) < 28  # what was done before the kill came from the cache


def test_two_digests_with_the_same_file_name_are_refused_before_any_call(tmp_path: Path) -> None:
    first = write_days(tmp_path / "a", {"2026-06-16": (0, 2)})[0]
    second = write_days(tmp_path / "b", {"2026-06-16": (2, 4)})[0]
    result = run_cli("run", first, second, *fake_options(tmp_path))
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(second) in lines[0] and "same output folder" in lines[0], result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.json"))


def test_limit_counts_only_the_selected_papers(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    backfill = json.loads(run_cli("run", *files, *fake_options(tmp_path), "--json", "--limit", "2").stdout)
    totals = backfill["totals"]
    assert (totals["papers"], totals["distinct_papers"]) == (6, 6)  # papers 0-1, 4-5, 8-9
    assert [d["distinct_papers"] for d in backfill["days"]] == [2, 2, 2]
    assert run_cli("run", *files, *fake_options(tmp_path)).exit_code == 0  # every paper
    files[1].write_text(files[1].read_text(encoding="utf-8") + "\n", encoding="utf-8")  # day 2 changed
    again = json.loads(run_cli("run", *files, *fake_options(tmp_path), "--json", "--limit", "2").stdout)
    assert [d["outcome"] for d in again["days"]] == ["unchanged", "done", "unchanged"]
    # day 2's output holds its 2 papers of this run and the 6 of the last: counted alike
    assert [(d["papers"], d["distinct_papers"]) for d in again["days"]] == [(8, 8), (8, 8), (6, 6)]
    assert (again["totals"]["papers"], again["totals"]["distinct_papers"]) == (22, 14)


def test_no_reuse_redoes_a_day_whose_last_run_reused_papers(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    assert run_cli("run", *files, *fake_options(tmp_path)).exit_code == 0
    again = json.loads(run_cli("run", *files, *fake_options(tmp_path), "--json", "--no-reuse").stdout)
    assert [d["outcome"] for d in again["days"]] == ["unchanged", "done", "done"]  # day 1 reused nothing
    assert [d["reused"] for d in again["days"]] == [0, 0, 0]
    assert _json(_day(tmp_path, "2026-06-17") / "run.json")["reused"] == 0


def test_a_days_unreadable_records_are_named_on_the_console(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", {"2026-06-16": (0, 2), "2026-06-17": (2, 4)})
    with files[1].open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"title": "a record with no id", "AI": {}}) + "\n")
    result = run_cli("run", *files, *fake_options(tmp_path))
    assert result.exit_code == 1, result.output
    line = next(line for line in result.output.splitlines() if "could not be read as a paper" in line)
    assert line.startswith("2026-06-17: ") and "1 record(s)" in line and "run.json" in line


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_ctrl_c_writes_the_backfill_summary_of_what_was_done(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    command = [sys.executable, "-m", "pipeline.cli", "run", *map(str, files), "--config", str(CONFIG),
               "--provider", "fake", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
               "--set", "providers.fake.settings.latency=0.3", "--concurrency", "1"]
    slow = subprocess.Popen(command, cwd=REPO, env={**os.environ, "OMP_WAIT_POLICY": "passive"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    deadline = time.monotonic() + 60
    while not list((_day(tmp_path, "2026-06-17") / "papers").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    slow.send_signal(signal.SIGINT)
    _, stderr = slow.communicate(timeout=60)
    assert slow.returncode == 130, stderr
    backfill = _json(tmp_path / "out" / "backfill.json")
    assert [d["outcome"] for d in backfill["days"]] == ["done", "stopped", "not_started"]
    assert backfill["stopped"] == "interrupted (Ctrl-C)" and backfill["totals"]["not_finished"] == 2
    assert backfill["days"][0]["papers"] == 8 and "Traceback" not in stderr
    # the day it stopped in: what its stopped run wrote (its run.json), not an empty row
    stopped, run = backfill["days"][1], _json(_day(tmp_path, "2026-06-17") / "run.json")
    assert stopped["papers"] == run["papers"] == 8 and stopped["status_counts"] == run["status_counts"]
    assert stopped["status_counts"].get("skipped", 0) >= 1 and stopped["exit_code"] == 130
    assert backfill["totals"]["papers"] == 16 and backfill["totals"]["distinct_papers"] <= 16


def test_a_deleted_paper_file_makes_its_day_run_again(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    assert run_cli("run", *files, *fake_options(tmp_path)).exit_code == 0
    lost = _day(tmp_path, "2026-06-17") / "papers" / "2601.16394.json"
    lost.unlink()
    report = run_cli("validate", tmp_path / "out")
    assert report.exit_code == 1 and f"error: {lost}: missing" in report.output.replace("\n", ""), report.output
    again = json.loads(run_cli("run", *files, *fake_options(tmp_path), "--json").stdout)
    assert [d["outcome"] for d in again["days"]] == ["unchanged", "done", "unchanged"]
    assert lost.is_file() and again["totals"]["model_calls"] == 0  # from the cache and the reuse index
    assert run_cli("validate", tmp_path / "out").exit_code == 0


def test_rerun_of_a_reused_paper_translates_the_days_own_text_and_counts_it(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", DAYS)
    assert run_cli("run", *files[:2], *fake_options(tmp_path)).exit_code == 0
    day2 = _day(tmp_path, "2026-06-17")
    assert _json(day2 / "run.json")["reused"] == 4
    result = run_cli("rerun", "2601.16394", "--digest", files[1], *fake_options(tmp_path),
                     "--from-stage", "resummarize")
    assert result.exit_code == 0, result.output
    paper = _json(day2 / "papers" / "2601.16394.json")
    assert paper["provenance"].get("reused_from") is None and paper["provenance"]["usage"]["calls"] == 2
    assert "（重述）" in json.dumps(paper["source"], ensure_ascii=False)  # this day's own text
    assert _json(day2 / "run.json")["reused"] == 3


def _progress(output: str) -> list[tuple[int, int]]:
    """(papers done, expected total) of each progress line a backfill printed away from a terminal."""
    found = re.findall(r"^day \S+ \S+: (\d+)/(\d+) papers", output, re.M)
    return [(int(done), int(total)) for done, total in found]


def test_the_progress_ends_at_the_papers_processed(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", {"2026-06-16": (0, 4), "2026-06-17": (4, 8)})
    lines = files[0].read_text(encoding="utf-8").splitlines()
    # day 1: a paper's record twice and a record that is not a paper (6 records, 4 papers)
    files[0].write_text("\n".join([*lines, lines[0], json.dumps({"title": "no id"})]) + "\n", encoding="utf-8")
    first = run_cli("run", *files, *fake_options(tmp_path))
    assert _progress(first.output)[-1] == (8, 8), first.output  # the quick count said 10
    files[1].write_text(files[1].read_text(encoding="utf-8") + lines[1] + "\n", encoding="utf-8")
    second = run_cli("run", *files, *fake_options(tmp_path))  # day 1 unchanged, day 2 one paper more
    assert _progress(second.output)[-1] == (5, 5), second.output


def test_dry_run_estimates_one_digest_and_says_so(tmp_path: Path) -> None:
    files = write_days(tmp_path / "data", {"2026-06-16": (0, 2), "2026-06-17": (2, 4)})
    refused = run_cli("run", *files, *fake_options(tmp_path), "--dry-run")
    assert refused.exit_code == 2 and "one digest at a time" in refused.output
    assert not (tmp_path / "out").exists()
    help_text = " ".join(run_cli("run", "--help").output.split())
    assert "cost of one DIGEST" in help_text
