"""Issue 12's acceptance on the archive (``shared/data/archive``: 17 upstream days, 14 with Markdown):
the English data file made from a whole fake-provider run of a day has one line per distinct id;
from JSONL the site's keys equal the input's; from Markdown they equal what upstream's record rule
derives (checked against the same day's JSONL, which upstream converted into that Markdown); the
five AI fields are present; no CJK anywhere in the file.

One JSONL day, one old-schema day and one Markdown day run in the normal suite; every day runs
in the slow test (4,904 JSONL lines and 14 Markdown digests: about a minute).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.paths import REPO

from pipeline.app import RunOptions, execute_run
from pipeline.models import SUMMARY_FIELDS
from pipeline.parse import parse_digest
from pipeline.publish.datafile import write_english_file

SITE_KEYS = ("id", "title", "authors", "categories", "summary", "abs", "pdf")
# Han, kana, hangul, CJK punctuation and full-width forms (independent of the module's pattern).
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
ARCHIVE_DAYS = [f"2025-03-{d}" for d in (25, 26)] + ["2025-04-15"] + [f"2026-06-{d}" for d in range(16, 30)]
QUICK = {"2026-06-17_AI_enhanced_Chinese.jsonl", "2025-03-26_AI_enhanced_Chinese.jsonl", "2026-06-25.md"}


def _inputs() -> list[str]:
    names = [f"{day}_AI_enhanced_Chinese.jsonl" for day in ARCHIVE_DAYS]
    return names + [f"{day}.md" for day in ARCHIVE_DAYS if day.startswith("2026")]


def english_file_of(path: Path, tmp: Path) -> list[dict]:
    """Run the whole day with the fake provider, write its English file, read it back."""
    result = execute_run(path, RunOptions(config=REPO / "config.yaml", provider="fake",
                                          out_dir=tmp / "out", cache_dir=tmp / "cache"))
    written = write_english_file(result.out_dir, parse_digest(path), result.documents)
    text = written.read_text(encoding="utf-8")
    assert not CJK.search(text)
    records = [json.loads(line) for line in text.splitlines()]
    for record in records:
        assert not CJK.search(json.dumps(record, ensure_ascii=False)), record["id"]
        assert all(isinstance(record["AI"].get(name), str) for name in SUMMARY_FIELDS), record["id"]
    return records


def first_records(path: Path) -> dict[str, dict]:
    """The JSONL day's records by id, the first line of each id (the one the parser keeps)."""
    records: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            records.setdefault(record["id"], record)
    return records


def check_jsonl_day(path: Path, tmp: Path) -> None:
    inputs = first_records(path)
    records = english_file_of(path, tmp)
    assert [r["id"] for r in records] == list(inputs)  # one line per distinct id, input order
    for record in records:
        source = inputs[record["id"]]
        assert {k: record[k] for k in SITE_KEYS} == {k: source[k] for k in SITE_KEYS}
        assert [k for k in record if k != "AI"] == [k for k in source if k != "AI"]
        if "task" in source["AI"]:
            assert record["AI"]["task"] == record["AI"]["tldr"]


def check_markdown_day(path: Path, tmp: Path) -> None:
    text = path.read_text(encoding="utf-8")
    heading_ids = re.findall(r"^### \[\d+\] \[.*\]\(https://arxiv\.org/abs/([^)]+)\)$", text, re.M)
    same_day = first_records(path.with_name(path.stem + "_AI_enhanced_Chinese.jsonl"))
    records = english_file_of(path, tmp)
    assert [r["id"] for r in records] == list(dict.fromkeys(heading_ids))
    for record in records:
        source, arxiv_id = same_day[record["id"]], record["id"]
        assert list(record) == ["id", "categories", "pdf", "abs", "authors", "title", "comment", "summary", "AI"]
        assert (record["pdf"], record["abs"]) == (f"https://arxiv.org/pdf/{arxiv_id}", f"https://arxiv.org/abs/{arxiv_id}")
        assert record["categories"] == source["categories"][:1] and record["comment"] is None
        assert (record["title"], record["authors"]) == (source["title"], source["authors"])
        assert record["summary"].split() == source["summary"].split()  # same text, paragraph breaks aside


def check_day(name: str, archive: Path, tmp: Path) -> None:
    if name.endswith(".md"):
        check_markdown_day(archive / name, tmp)
    else:
        check_jsonl_day(archive / name, tmp)


@pytest.mark.parametrize("name", sorted(QUICK))
def test_archive_day(name: str, shared_data: Path, tmp_path: Path) -> None:
    check_day(name, shared_data / "archive", tmp_path)


@pytest.mark.slow
def test_every_archive_day(shared_data: Path, tmp_path: Path) -> None:
    names = _inputs()
    assert sorted(names) == sorted(p.name for p in (shared_data / "archive").iterdir())
    for name in names:
        check_day(name, shared_data / "archive", tmp_path / name)
