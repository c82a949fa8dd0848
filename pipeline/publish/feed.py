"""Atom feeds of English papers (feedgen): ``feed.xml`` of a run's day, and the site's rolling feed.

Both are built from English records (:mod:`pipeline.publish.datafile`), so a feed shows what the
site shows: one entry per paper with the title, the arXiv link (``abs``, else ``pdf``, else
``https://arxiv.org/abs/<id>``, as ``js/app.js`` picks it; also the entry id), the authors, the
main category, the English TL;DR as summary (the abstract when there is none) and the five
fields as HTML content (the record's texts are HTML already: the English file escapes ``&<>``
and the site inserts them with innerHTML, so does the feed).

Dates are the day's (00:00 UTC; a run of a file whose name holds no date uses the time of the
run), never the time of writing, so rebuilding a feed from the same files gives the same bytes.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from feedgen.feed import FeedGenerator

from pipeline import __version__
from pipeline.models import Digest
from pipeline.publish.names import day_of, english_file_name

_LABELS = (("tldr", "TL;DR"), ("motivation", "Motivation"), ("method", "Method"), ("result", "Result"),
           ("conclusion", "Conclusion"))


@dataclass
class FeedDay:
    """The English records of one day (``day`` None: a digest whose name has no date)."""

    day: date | None
    records: list[dict[str, Any]]


def feed_xml(days: list[FeedDay], *, feed_id: str, title: str, updated: datetime) -> str:
    """An Atom feed (UTF-8 XML text) of ``days`` in the order given, records in their order; a
    paper already in an earlier day of the list is not repeated."""
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(title)
    feed.language("en")
    feed.author({"name": "arXiv authors; English by digest-pipeline"})
    feed.generator("digest-pipeline", version=__version__)
    feed.updated(updated)
    seen: set[str] = set()
    for day in days:
        when = _midnight(day.day) if day.day is not None else updated
        for record in day.records:
            link = paper_link(record)
            if link not in seen:
                seen.add(link)
                _add_entry(feed, record, link, when)
    return feed.atom_str(pretty=True).decode("utf-8")


def _add_entry(feed: FeedGenerator, record: dict[str, Any], link: str, when: datetime) -> None:
    entry = feed.add_entry(order="append")
    entry.id(link)
    entry.title(" ".join(str(record.get("title") or record.get("id") or link).split()))
    entry.link(href=link, rel="alternate")
    for name in _authors(record.get("authors")):
        entry.author({"name": name})
    if category := _main_category(record.get("categories")):
        entry.category(term=category, label=category)
    ai = record.get("AI") if isinstance(record.get("AI"), dict) else {}
    tldr = _text(ai.get("tldr"))
    entry.summary(html.unescape(tldr) if tldr else _text(record.get("summary")) or "(no summary)")
    entry.content(_content_html(ai, _text(record.get("summary"))), type="html")
    entry.published(when)
    entry.updated(when)


def paper_link(record: dict[str, Any]) -> str:
    """The paper's link as the site picks it: ``abs``, else ``pdf``, else the arXiv page of ``id``."""
    for key in ("abs", "pdf"):
        if isinstance(record.get(key), str) and record[key].strip():
            return record[key].strip()
    return f"https://arxiv.org/abs/{record.get('id')}"


def _content_html(ai: dict[str, Any], abstract: str) -> str:
    """The five fields as labelled HTML paragraphs (texts are HTML already); the escaped abstract
    when none has text."""
    parts = [f"<p><b>{label}:</b> {_text(ai.get(name))}</p>" for name, label in _LABELS if _text(ai.get(name))]
    return "\n".join(parts) or f"<p><b>Abstract:</b> {html.escape(abstract, quote=False)}</p>"


def _authors(value: Any) -> list[str]:
    if isinstance(value, list):
        return [" ".join(str(a).split()) for a in value if str(a).strip()]
    return [a.strip() for a in value.split(",") if a.strip()] if isinstance(value, str) else []


def _main_category(value: Any) -> str | None:
    if isinstance(value, list) and value:
        return str(value[0]).strip() or None
    return value.replace(",", " ").split()[0] if isinstance(value, str) and value.strip() else None


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _run_time(started_at: str | None) -> datetime:
    try:
        when = datetime.fromisoformat(started_at) if started_at else None
    except ValueError:
        when = None
    return (when or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc)


def day_feed_xml(digest: Digest, records: list[dict[str, Any]], started_at: str | None = None) -> str:
    """The Atom feed of a digest's English records (:func:`~pipeline.publish.datafile.english_records`),
    dated by the day in the digest's name, else by ``started_at`` (the run's ISO 8601 start, which a
    rerun keeps), else now."""
    name = english_file_name(digest.path)
    day = day_of(Path(digest.path).name)
    updated = _midnight(day) if day is not None else _run_time(started_at)
    title = f"arXiv papers of {day.isoformat()}, in English" if day else f"{Path(digest.path).name}, in English"
    return feed_xml([FeedDay(day, records)], feed_id=f"urn:digest-pipeline:day:{name.removesuffix('.jsonl')}",
                    title=title, updated=updated)


def read_records(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines file (blank lines and lines that are not objects skipped)."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def rolling_feed(english_files: list[Path], days: int) -> str | None:
    """The Atom feed of the ``days`` latest dates among ``english_files`` (``<date>_AI_enhanced_
    English.jsonl``; files without a date in the name are ignored), newest first; None if none."""
    dated = sorted(((d, p) for p in english_files if (d := day_of(p.name)) is not None), reverse=True)[:days]
    if not dated:
        return None
    feed_days = [FeedDay(day, read_records(path)) for day, path in dated]
    return feed_xml(feed_days, feed_id="urn:digest-pipeline:feed:english", updated=_midnight(dated[0][0]),
                    title=f"Daily arXiv papers in English (last {len(dated)} days)")
