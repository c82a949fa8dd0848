"""Atom feeds (feedgen), parsed back with feedparser: the day's ``feed.xml`` a run writes, and the
rolling feed of the latest days that ``publish`` keeps in the site's data checkout."""

from __future__ import annotations

import html
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, REPO

from support.requirements import require_module

from pipeline.models import SUMMARY_FIELDS
from pipeline.publish.feed import read_records, rolling_feed

feedparser = require_module("feedparser", "pip install -e '.[dev]'")
RECORDS = REPO / "tests" / "data" / "publish" / "records.jsonl"
DAY = "2026-06-16_AI_enhanced_Chinese.jsonl"


@pytest.fixture(scope="module")
def day_run(tmp_path_factory) -> Path:
    """A fake-provider run of a dated copy of the test records: its output folder."""
    tmp = tmp_path_factory.mktemp("feed")
    shutil.copy(RECORDS, tmp / DAY)
    result = run_cli("run", str(tmp / DAY), "--config", CONFIG, "--provider",
                                      "fake", "--out", str(tmp / "out"), "--cache-dir", str(tmp / "cache"))
    assert result.exit_code in (0, 1), result.output  # 1: some fake translations fail validation
    return tmp / "out" / DAY.removesuffix(".jsonl")


def test_run_writes_the_day_feed(day_run: Path) -> None:
    feed = feedparser.parse(str(day_run / "feed.xml"))
    assert not feed.bozo, feed.bozo_exception
    records = read_records(day_run / "2026-06-16_AI_enhanced_English.jsonl")
    assert feed.feed.title == "arXiv papers of 2026-06-16, in English" and feed.feed.language == "en"
    assert feed.feed.updated == "2026-06-16T00:00:00+00:00"
    assert [e.id for e in feed.entries] == [r["abs"] for r in records] == [e.link for e in feed.entries]
    first, record = feed.entries[0], records[0]
    assert first.title == "Fusing <b>Tags</b> & Tokens"  # the title as text, not markup
    assert [a["name"] for a in first.authors] == record["authors"]
    assert first.tags[0]["term"] == "cs.CL"
    assert first.summary == html.unescape(record["AI"]["tldr"]) != ""
    content = first.content[0]
    assert content.type == "text/html"
    for name, label in zip(SUMMARY_FIELDS, ("TL;DR", "Motivation", "Method", "Result", "Conclusion")):
        assert (f"<b>{label}:</b>" in content.value) == bool(record["AI"][name])
    assert first.updated == "2026-06-16T00:00:00+00:00"


def test_day_feed_of_an_undated_digest(tmp_path: Path) -> None:
    result = run_cli("run", str(RECORDS), "--config", CONFIG, "--provider", "fake",
                                      "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code in (0, 1), result.output
    feed = feedparser.parse(str(tmp_path / "out" / "records" / "feed.xml"))
    assert not feed.bozo and len(feed.entries) == 3 and feed.feed.title == "records.jsonl, in English"


def _english_file(folder: Path, day: str, ids: list[str]) -> Path:
    path = folder / f"{day}_AI_enhanced_English.jsonl"
    lines = [json.dumps({"id": i, "categories": ["cs.AI"], "abs": f"https://arxiv.org/abs/{i}", "authors": ["A B"],
                         "title": f"Paper {i}", "summary": f"Abstract of {i}.",
                         "AI": {"tldr": f"TL;DR of {i} on {day} &amp; more", "motivation": "", "method": "M.",
                                "result": "", "conclusion": ""}}) for i in ids]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_rolling_feed_keeps_the_latest_days_each_paper_once(tmp_path: Path) -> None:
    files = [_english_file(tmp_path, "2026-06-14", ["2606.00001"]),
             _english_file(tmp_path, "2026-06-16", ["2606.00002", "2606.00003"]),
             _english_file(tmp_path, "2026-06-15", ["2606.00003", "2606.00004"]),
             tmp_path / "notes_AI_enhanced_English.jsonl"]  # no date: not a day of the site
    files[-1].write_text(files[0].read_text(encoding="utf-8"), encoding="utf-8")
    text = rolling_feed(files, days=2)
    assert text == rolling_feed(list(reversed(files)), days=2)  # same files, same bytes
    feed = feedparser.parse(text)
    assert not feed.bozo and feed.feed.updated == "2026-06-16T00:00:00+00:00"
    ids = [e.id.rsplit("/", 1)[1] for e in feed.entries]
    assert ids == ["2606.00002", "2606.00003", "2606.00004"]  # newest day first, 00003 once (its newest day)
    assert feed.entries[1].summary == "TL;DR of 2606.00003 on 2026-06-16 & more"
    assert feed.entries[2].updated == "2026-06-15T00:00:00+00:00"
    assert "<b>Method:</b> M." in feed.entries[0].content[0].value
    assert "<b>Motivation:</b>" not in feed.entries[0].content[0].value  # empty fields left out
    assert rolling_feed([files[-1]], days=7) is None  # nothing dated: no feed


def test_rolling_feed_of_more_days_than_present(tmp_path: Path) -> None:
    files = [_english_file(tmp_path, f"2026-06-{d}", [f"2606.000{d}"]) for d in (10, 11, 12)]
    feed = feedparser.parse(rolling_feed(files, days=7))
    assert [e.updated[:10] for e in feed.entries] == ["2026-06-12", "2026-06-11", "2026-06-10"]
    assert date.fromisoformat(feed.feed.updated[:10]) == date(2026, 6, 12)
