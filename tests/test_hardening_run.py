"""Hardening of the run path: a full cache or output disk, another digest of the same name,
two commands on one output folder. Each ends in one line and exit 2, and whatever finished is
written and described by the aggregates."""

from __future__ import annotations

import errno
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import fake_options, run_cli
from support.paths import CONFIG, REPO, SEED

import pipeline.runner

HOLD = """
import sys
from pathlib import Path
from pipeline.output.lock import output_lock
with output_lock(Path(sys.argv[1]), "run"):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def _day(tmp_path: Path) -> Path:
    return tmp_path / "out" / "seed-digest"


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _error_line(result) -> str:
    """The one error line (progress lines may come before it); no traceback."""
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.strip().splitlines() if line.startswith("error")]
    return line


def _statuses(tmp_path: Path) -> dict[str, int]:
    return _json(_day(tmp_path) / "run.json")["status_counts"]


def test_a_full_cache_is_one_line_and_the_finished_papers_are_described(tmp_path: Path, monkeypatch) -> None:
    import diskcache

    real_set, calls = diskcache.Cache.set, []

    def fills_up(self, key, value, *args, **kwargs):  # SQLite's own error for a full disk
        calls.append(key)
        if len(calls) > 7:  # three papers' calls (2 each) fit, the fourth paper's do not
            raise sqlite3.OperationalError("database or disk is full")
        return real_set(self, key, value, *args, **kwargs)

    monkeypatch.setattr(diskcache.Cache, "set", fills_up)
    result = run_cli("run", SEED, *fake_options(tmp_path), "--limit", "8", "--concurrency", "1")
    assert result.exit_code == 2, result.output
    line = _error_line(result)
    assert str(tmp_path / "cache") in line and "database or disk is full" in line
    assert len(list((_day(tmp_path) / "papers").glob("*.json"))) == 3
    counts = _statuses(tmp_path)
    assert counts["ok"] == 3 and counts["skipped"] == 5
    entries = _json(_day(tmp_path) / "digest.json")["papers"]
    stopped = [e for e in entries[:8] if e["validation"]["status"] == "skipped"]
    assert len(stopped) == 5 and {e["validation"]["skip_reason"] for e in stopped} == {"stopped"}
    assert "database or disk is full" in stopped[0]["validation"]["issues"][0]["message"]
    monkeypatch.undo()  # the disk has room again: the next run finishes the rest
    again = run_cli("run", SEED, *fake_options(tmp_path), "--limit", "8")
    assert again.exit_code == 0 and _statuses(tmp_path)["ok"] == 8


def test_a_full_output_disk_names_the_file_and_describes_what_finished(tmp_path: Path, monkeypatch) -> None:
    real_write, written = pipeline.runner.write_paper, []

    def write_paper(out_dir, document):
        if len(written) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "papers" / "x.json"))
        written.append(document.arxiv_id)
        return real_write(out_dir, document)

    monkeypatch.setattr(pipeline.runner, "write_paper", write_paper)
    result = run_cli("run", SEED, *fake_options(tmp_path), "--limit", "5", "--concurrency", "1")
    assert result.exit_code == 2, result.output
    line = _error_line(result)
    assert line.endswith("papers/x.json: No space left on device [ENOSPC]"), line
    counts = _statuses(tmp_path)
    assert counts["ok"] == 2 and counts["skipped"] == 3
    entries = {e["arxiv_id"]: e for e in _json(_day(tmp_path) / "digest.json")["papers"]}
    assert all(entries[i]["validation"]["status"] == "ok" for i in written)


def test_rerun_with_another_digest_of_the_same_name_is_refused(tmp_path: Path) -> None:
    assert run_cli("run", SEED, *fake_options(tmp_path), "--limit", "3").exit_code == 0
    other = tmp_path / "elsewhere" / "seed-digest.md"  # same file name, one paper of another day
    other.parent.mkdir()
    text = SEED.read_text(encoding="utf-8")
    other.write_text(text[:text.index("### [2]")], encoding="utf-8")
    before = {p: p.read_bytes() for p in _day(tmp_path).rglob("*") if p.is_file()}
    result = run_cli("rerun", "2601.16272", "--digest", other, *fake_options(tmp_path))
    assert result.exit_code == 2, result.output
    line = _error_line(result)
    assert "a digest of the same name with other papers (129 listed, this one has 1)" in line
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("command", ["run", "rerun", "validate"])
def test_a_second_command_on_a_folder_in_use_is_refused(tmp_path: Path, command: str) -> None:
    assert run_cli("run", SEED, *fake_options(tmp_path), "--limit", "1").exit_code == 0
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(_day(tmp_path))], cwd=REPO, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        args = {"run": ("run", SEED, *fake_options(tmp_path), "--limit", "1"),
                "rerun": ("rerun", "2601.16272", "--digest", SEED, *fake_options(tmp_path)),
                "validate": ("validate", _day(tmp_path))}[command]
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        line = _error_line(result)
        assert f"(PID {holder.pid} on" in line and "in use by 'run'" in line
    finally:
        holder.communicate("\n", timeout=30)
    assert run_cli(*args).exit_code == 0  # the lock went with its holder
    assert CONFIG.is_file()


def _french_method(request):
    from support.responders import with_fields

    french = "Nous proposons un cadre d'apprentissage fédéré qui aligne les distributions des clients."
    return with_fields(request, lambda paper, field, _: french if (paper, field) == ("2601.16302", "method") else None)


def test_a_rejected_reply_is_null_kept_for_inspection_and_marked_in_the_digest(tmp_path: Path, fake_provider) -> None:
    name = fake_provider(_french_method)
    result = run_cli("run", SEED, *fake_options(tmp_path), "--provider", name, "--ids", "2601.16302,2601.16272")
    assert result.exit_code == 1, result.output
    doc = _json(_day(tmp_path) / "papers" / "2601.16302.json")
    assert doc["translation"]["method"] is None and doc["validation"]["status"] == "failed"
    assert doc["validation"]["rejected"]["translation.method"].startswith("Nous proposons")
    assert {i["check"] for i in doc["validation"]["issues"] if i["field"] == "translation.method"} >= {"language"}
    english = (_day(tmp_path) / "digest.en.md").read_text(encoding="utf-8")
    marker = re.search(r"Method: \(translation unavailable: ([a-z_, ]+)\)", english)
    assert "Nous proposons" not in english and marker and "language" in marker.group(1).split(", ")
    assert "Nous proposons" not in (_day(tmp_path) / "seed-digest_AI_enhanced_English.jsonl").read_text()
    checked = run_cli("validate", _day(tmp_path), "--json")  # re-checking finds the same from the kept reply
    assert checked.exit_code == 1 and json.loads(checked.stdout)["changed"] == []
