"""`digest-pipeline parse`: counts per category, warnings with line numbers, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, SEED




def test_parse_sample_prints_counts_per_category(repo: Path) -> None:
    result = run_cli("parse", SEED)
    assert result.exit_code == 0, result.output
    assert "129 papers" in result.stdout
    for category, n in (("cs.CV", 36), ("cs.CL", 46), ("cs.AI", 10), ("cs.LG", 37)):
        assert any(category in line and line.rstrip(" │").endswith(str(n)) for line in result.stdout.splitlines())


def test_parse_json_lists_every_paper(repo: Path) -> None:
    result = run_cli("parse", SEED, "--json")
    papers = json.loads(result.stdout)
    assert len(papers) == 129 and papers[0]["arxiv_id"] == "2601.16272"


@pytest.mark.parametrize("name", ["07-latex-backslash-in-json.txt", "10-wrong-language-and-bad-translations.json"])
def test_not_a_digest_exits_2_with_one_line(shared_data: Path, name: str) -> None:
    result = run_cli("parse", str(shared_data / "synthetic" / name))
    assert result.exit_code == 2
    assert name in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_real_and_synthetic_digest_parses(shared_data: Path) -> None:
    files = sorted((shared_data / "real").iterdir()) + sorted(
        p for p in (shared_data / "synthetic").iterdir() if p.suffix in (".md", ".jsonl"))
    assert len(files) >= 20
    for path in files:
        result = run_cli("parse", str(path))
        assert result.exit_code == 0, f"{path.name}: {result.stderr}"


def test_empty_day_runs_to_empty_outputs_exit_0(shared_data: Path, repo: Path, tmp_path: Path) -> None:
    empty = shared_data / "synthetic" / "05-empty-day-toc-only.md"
    result = run_cli("run", str(empty), "--config", CONFIG, "--provider", "fake",
                                 "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "05-empty-day-toc-only"
    assert json.loads((out / "digest.json").read_text(encoding="utf-8"))["papers"] == []
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["papers"] == 0
    assert "no papers" in result.stderr.lower()


def test_parse_json_keeps_stdout_json_and_names_skipped_records_on_stderr(tmp_path: Path) -> None:
    """Found by a fresh user: ``parse --json`` exited 1 with no word of why."""
    digest = tmp_path / "bad.jsonl"
    digest.write_text('{"id":"2601.16302","title":"T","authors":["A"],"categories":["cs.CV"],"summary":"Abs.",'
                      '"AI":{"tldr":"中文"}}\n{"id":"","title":"X"}\n', encoding="utf-8")
    result = run_cli("parse", digest, "--json")
    assert result.exit_code == 1
    assert [p["arxiv_id"] for p in json.loads(result.stdout)] == ["2601.16302"]
    assert "warning: line 2: record skipped: not an arXiv identifier" in result.stderr
