"""JSONL papers keep their input record as read (for the English data file); Markdown papers have none."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import run_cli

from pipeline.parse import parse_digest

HERE = Path(__file__).resolve().parent / "data" / "parse"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip().startswith("{") and line.rstrip().endswith("}")]


def test_record_is_the_line_as_read_in_key_order():
    digest = parse_digest(HERE / "variants.jsonl")
    first = digest.papers[0]
    raw = _lines(HERE / "variants.jsonl")[0]
    assert first.record == raw
    assert list(first.record) == list(raw)  # key order kept, not sorted
    assert first.record["title"] == "A JSONL Paper With\n  A Wrapped Title"  # not the one-line title
    task = {p.arxiv_id: p for p in digest.papers}["2501.90262"]
    assert task.record["id"] == "2501.90262v3" and task.record["AI"]["task"] == "任务。"


def test_salvaged_line_keeps_what_could_be_read_without_ai():
    digest = parse_digest(HERE / "truncated.jsonl")
    cut = {p.arxiv_id: p for p in digest.papers}["2501.90272"]
    assert "AI" not in cut.record
    assert cut.record["id"] == "2501.90272" and cut.record["title"] == "Cut"
    json.dumps(cut.record)  # plain JSON values only (no internal marker object)


def test_markdown_papers_have_no_record_and_dumps_leave_it_out(repo):
    digest = parse_digest(repo / "samples" / "seed-digest.md")
    assert all(p.record is None for p in digest.papers)
    jsonl = parse_digest(HERE / "variants.jsonl")
    assert "record" not in jsonl.papers[0].model_dump()
    result = run_cli("parse", HERE / "variants.jsonl", "--json")
    assert result.exit_code == 1  # variants.jsonl holds a line that is not a paper (exit 1, named in a warning)
    assert json.loads(result.stdout) and '"record"' not in result.stdout
