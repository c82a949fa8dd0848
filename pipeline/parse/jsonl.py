"""The JSONL data file written next to each digest (``<date>_AI_enhanced_<Language>.jsonl``).

One paper a line, as upstream's crawler and enhancer write it::

    {"id": "2601.16272", "title": ..., "authors": [...], "categories": ["cs.CV", ...],
     "summary": <arXiv abstract, hard-wrapped>, "abs": <URL>, "pdf": <URL>, "comment": ...,
     "AI": {"tldr": ..., "motivation": ..., "method": ..., "result": ..., "conclusion": ...}}

Variants handled (``shared/data/real`` and synthetic 01/03/16): ``task`` for ``tldr`` (KAFKA2306, the
earliest schema), ``background``/``data``/``relevance`` and other AI keys (kept in ``extra``), authors
or categories written as one string or as a Python list in a string, versioned or prefixed ids,
``url``/``pdf_url`` instead of ``abs``. A line that is not JSON is reported with its number; if its
``id`` and ``title`` can still be read the paper is kept without AI fields.

Each paper keeps its record as read (``Paper.record``: keys and values in the file's order; for a
salvaged broken line, the pairs that could be read, without ``AI``), so the English data file
(:mod:`pipeline.publish.datafile`) can write the same record back with English ``AI`` fields.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.errors import InputError
from pipeline.models import SUMMARY_FIELDS, Digest, Paper, ParseWarning
from pipeline.parse.assemble import drop_duplicates, finish_fields
from pipeline.parse.ids import abs_url, normalize_arxiv_id
from pipeline.parse.labels import canonical
from pipeline.parse.source import SourceText
from pipeline.parse.text import join_abstract, join_field, one_line, split_authors

_STRUCTURAL = {"id", "title", "authors", "categories", "summary", "abs", "url", "pdf", "pdf_url", "AI"}
_STRING = r'"((?:[^"\\]|\\.)*)"'


def parse_jsonl(source: SourceText) -> Digest:
    """Parse a JSONL data file into a :class:`Digest` (papers in line order, duplicates dropped).

    Raises:
        InputError: no line yields a paper (e.g. a JSON document or some other JSON Lines file).
    """
    warnings: list[ParseWarning] = []
    papers: list[Paper] = []
    lines = source.lines
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for index, line in enumerate(lines):
        if line.strip() and (paper := _line_paper(line, index + 1, index == last and not source.ends_with_newline,
                                                  warnings)) is not None:
            papers.append(paper)
    if not papers:
        raise InputError(source.path, "not a digest data file: no line is a paper record "
                                      "with an arXiv id and a title")
    categories = list(dict.fromkeys(p.category for p in papers if p.category))
    return Digest(path=str(source.path), kind="jsonl", papers=drop_duplicates(papers, warnings),
                  categories=categories, warnings=warnings)


def _line_paper(line: str, number: int, cut: bool, warnings: list[ParseWarning]) -> Paper | None:
    """The paper of one line (None, with a warning, when it has none).

    A record nested deeper than Python's recursion limit (about 1,000 levels: ``json`` decodes
    recursively) is skipped with a warning instead of stopping the parse with RecursionError.
    """
    mark = len(warnings)
    try:
        record = _load(line, number, cut, warnings)
        return _paper(record, number, warnings) if record is not None else None
    except RecursionError:
        del warnings[mark:]
        warnings.append(ParseWarning(line=number, message="record nested too deeply to read "
                                                          "(JSON nesting beyond the recursion limit); skipped",
                                     skipped=True))
        return None


def _load(line: str, number: int, cut: bool, warnings: list[ParseWarning]) -> dict | None:
    """The line's JSON object; for a broken line, what can be salvaged of it (or None)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        salvaged = _salvage(line)
        why = "cut off (file is truncated)" if cut else f"not valid JSON ({exc.msg} at column {exc.colno})"
        kept = "kept id and title, no AI fields" if salvaged else "skipped"
        warnings.append(ParseWarning(line=number, paper_id=_id_or_none(salvaged),
                                     message=f"record {why}; {kept}", skipped=salvaged is None))
        return salvaged
    if not isinstance(record, dict):
        warnings.append(ParseWarning(line=number, message=f"record is a JSON {type(record).__name__}, "
                                                          "not an object; skipped", skipped=True))
        return None
    return record


def _salvage(line: str) -> dict | None:
    """Complete ``"key": "string"`` pairs of a broken line; None unless it has ``id`` and ``title``."""
    record: dict[str, Any] = {}
    for key in ("id", "title", "abs", "url", "summary", "comment"):
        if match := re.search(rf'"{key}"\s*:\s*{_STRING}', line):
            record[key] = _json_or_none(f'"{match[1]}"')
    for key in ("authors", "categories"):
        if match := re.search(rf'"{key}"\s*:\s*(\[\s*(?:{_STRING}\s*,?\s*)*\])', line):
            record[key] = _json_or_none(match[1])
    if not isinstance(record.get("id"), str) or not isinstance(record.get("title"), str):
        return None
    record["AI"] = _SALVAGED
    return record


_SALVAGED = object()  # marks a record rebuilt from a broken line (its AI object is lost)


def _json_or_none(text: str) -> Any:
    """``json.loads(text)``, or None when even this fragment is not valid JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _id_or_none(record: dict | None) -> str | None:
    """The normalized id of a salvaged record, if it has a valid one."""
    try:
        return normalize_arxiv_id(record["id"]) if record else None
    except ValueError:
        return None


def _paper(record: dict, number: int, warnings: list[ParseWarning]) -> Paper | None:
    """Build a paper from a record; None (with a warning) without a valid id or a title."""
    try:
        arxiv_id = normalize_arxiv_id(str(record.get("id") or record.get("abs") or ""))
    except ValueError as exc:
        warnings.append(ParseWarning(line=number, message=f"record skipped: {exc}", skipped=True))
        return None
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        warnings.append(ParseWarning(line=number, paper_id=arxiv_id, message="record has no title; skipped",
                                     skipped=True))
        return None
    categories = _strings(record.get("categories"), split=r"[\s,]+")
    fields, extra, problems = _ai(record, number, arxiv_id, warnings)
    _add_record_extra(record, categories, extra)
    summary = record.get("summary")
    abstract = join_abstract(summary.split("\n")) if isinstance(summary, str) else ""
    main = categories[0] if categories else None
    url = abs_url(arxiv_id, *(record.get(key) for key in ("id", "abs", "url", "pdf")))  # never a raw link
    paper = Paper(arxiv_id=arxiv_id, url=url, title=one_line(title),
                  authors=_strings(record.get("authors"), split=None), category=main, section=main,
                  fields=fields, abstract=abstract, extra=extra, source_problems=problems, line=number,
                  record={key: value for key, value in record.items() if value is not _SALVAGED})
    return finish_fields(paper)


def _strings(value: Any, split: str | None) -> list[str]:
    """A list of strings from a list, a Python-list string, or one string (comma or ``split``)."""
    if isinstance(value, list):
        return [one_line(str(item)) for item in value if str(item).strip()]
    if not isinstance(value, str):
        return []
    items = split_authors(value)
    if split and len(items) == 1 and not value.strip().startswith("["):
        items = [item for item in re.split(split, value.strip()) if item]
    return items


def _ai(record: dict, number: int, arxiv_id: str,
        warnings: list[ParseWarning]) -> tuple[dict[str, str | None], dict[str, str], dict[str, str]]:
    """The record's ``AI`` object as (fields, extra, source_problems)."""
    ai = record.get("AI")
    if ai is _SALVAGED:
        return {}, {}, {name: "missing: the record's line is broken JSON; its AI fields are lost"
                         for name in SUMMARY_FIELDS}
    if not isinstance(ai, dict):
        why = "has no 'AI' key" if "AI" not in record else f"has 'AI': {json.dumps(ai)[:20]}, not an object"
        warnings.append(ParseWarning(line=number, paper_id=arxiv_id, message=f"record {why}; "
                                                                               "no summary fields"))
        return {}, {}, {name: f"missing: the record {why}" for name in SUMMARY_FIELDS}
    fields: dict[str, str | None] = {}
    extra: dict[str, str] = {}
    problems: dict[str, str] = {}
    for key, value in ai.items():
        name = canonical(key)
        if name in SUMMARY_FIELDS and name not in fields:
            fields[name] = _field_text(value, name, problems, number, arxiv_id, warnings)
        elif value is not None:
            extra[key] = _as_text(value)
    return fields, extra, problems


def _field_text(value: Any, name: str, problems: dict[str, str], number: int, arxiv_id: str,
                warnings: list[ParseWarning]) -> str | None:
    """A summary field's text: strings as they are, a list of strings joined by ``\\n``, else None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        warnings.append(ParseWarning(line=number, paper_id=arxiv_id,
                                     message=f"AI.{name} is a list; joined its items with newlines"))
        return "\n".join(value)
    problems[name] = f"not text: the source value is a JSON {type(value).__name__}"
    warnings.append(ParseWarning(line=number, paper_id=arxiv_id,
                                 message=f"AI.{name} is a {type(value).__name__}, not text; ignored"))
    return None


def _as_text(value: Any) -> str:
    """An extra value as text: strings unwrapped, lists of strings comma-joined, others as JSON."""
    if isinstance(value, str):
        return join_field(value.split("\n"))
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False)


def _add_record_extra(record: dict, categories: list[str], extra: dict[str, str]) -> None:
    """Non-structural top-level keys (``comment``, ``code_url``, ...) and all categories into extra."""
    if categories:
        extra.setdefault("categories", ", ".join(categories))
    for key, value in record.items():
        if key in _STRUCTURAL or value is None:
            continue
        extra[key if key not in extra else f"record.{key}"] = _as_text(value)
