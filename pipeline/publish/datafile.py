"""The English data file a daily-arXiv-ai-enhanced site reads: ``<date>_AI_enhanced_English.jsonl``.

One JSON object a line, one line per distinct arXiv id of the digest, in input order (the
parser already dropped repeated ids). Rules from issue 12 and ``shared/docs/DAE-SITE.md``:

- From a JSONL input: the input record (``Paper.record``) with its keys and values as they were,
  in their order, except ``AI`` and except ``abs`` / ``pdf`` values that are not arXiv URLs, which
  become ``https://arxiv.org/abs/<id>`` / ``https://arxiv.org/pdf/<id>``.
- From a Markdown input: the record upstream's crawler writes (:func:`upstream_record`).
- ``AI``: the English ``tldr``, ``motivation``, ``method``, ``result``, ``conclusion``
  (:func:`english_texts`), each in the position of the input's key for that field (an
  old-schema ``task`` key holds the English TL;DR, and ``tldr`` is added); the five are always
  present. Other ``AI`` keys are kept when they are not text or already English; text in another
  language (Chinese, ...) is left out and counted in :attr:`EnglishFile.left_out`, as is any
  top-level key outside the arXiv metadata whose value holds CJK text.
- A field with no honest English is ``""`` (the site then shows the abstract): no text, an
  ``error`` issue on that field, a failure placeholder, or any CJK character. Our English texts
  have ``&``, ``<`` and ``>`` HTML-escaped (the site inserts them with ``innerHTML``).
- Guard: a CJK character anywhere outside the paper's own arXiv metadata (``title``,
  ``authors``, ``summary``, ``comment``, ``categories``, ``id``: the paper's data as arXiv has
  it, kept verbatim) raises :class:`~pipeline.errors.OutputError` and nothing is written.

Encoding: JSON with ASCII escapes (``\\uXXXX``), as upstream writes its files
(``json.dumps`` defaults): the site's ``JSON.parse`` reads both forms alike, the English file
then diffs and tools like the fork's own files, and no server charset can garble it.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import OutputError
from pipeline.lang import UNKNOWN, detect_language
from pipeline.models import SUMMARY_FIELDS, Digest, Paper, PaperDocument
from pipeline.output.files import write_text_atomic
from pipeline.parse.labels import canonical
from pipeline.parse.problems import source_problem
from pipeline.publish.names import english_file_name

#: Han (with extensions and compatibility ideographs), kana, hangul, CJK symbols and punctuation,
#: full-width forms: none of these may reach the English file from our side.
CJK = re.compile("[\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3130-\u318f\u1100-\u11ff\u3400-\u4dbf"
                 "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]")
#: Top-level keys holding the paper's own arXiv metadata: copied verbatim whatever they hold.
ARXIV_METADATA = frozenset({"id", "title", "authors", "categories", "summary", "comment"})
_ARXIV_URL = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/\S+$")


@dataclass
class EnglishFile:
    """The English records of a digest, in input order, and what was left out of them:
    ``left_out`` maps ``AI.<key>`` (or a top-level key) to the number of records that lost it."""

    records: list[dict[str, Any]]
    left_out: dict[str, int] = field(default_factory=dict)


def english_records(digest: Digest, documents: list[PaperDocument]) -> EnglishFile:
    """One English record per paper of ``digest`` (module docstring); a paper without a document
    in ``documents`` gets empty ``AI`` fields. Raises OutputError (the guard) on CJK text."""
    by_id = {document.arxiv_id: document for document in documents}
    records: list[dict[str, Any]] = []
    left_out: Counter[str] = Counter()
    for paper in digest.papers:
        record, dropped = english_record(paper, by_id.get(paper.arxiv_id))
        check_no_cjk(record, digest.path, paper.arxiv_id)
        records.append(record)
        left_out.update(dropped)
    return EnglishFile(records, dict(sorted(left_out.items())))


def left_out_keys(digest: Digest) -> dict[str, int]:
    """What the English file of ``digest`` leaves out (:attr:`EnglishFile.left_out`), from the
    input alone (it does not depend on the run's documents): for the run summary."""
    left_out: Counter[str] = Counter()
    for paper in digest.papers:
        left_out.update(english_record(paper, None)[1])
    return dict(sorted(left_out.items()))


def english_record(paper: Paper, document: PaperDocument | None) -> tuple[dict[str, Any], list[str]]:
    """The English record of one paper, and the keys left out of it (``AI.<key>`` / top-level)."""
    base = paper.record if paper.record is not None else upstream_record(paper)
    texts = english_texts(document)
    record: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in base.items():
        if key == "AI":
            record[key] = _english_ai(value, texts, dropped)
        elif key in ("abs", "pdf") and not (isinstance(value, str) and _ARXIV_URL.match(value)):
            record[key] = f"https://arxiv.org/{key}/{paper.arxiv_id}"
        elif key not in ARXIV_METADATA and CJK.search(json.dumps(value, ensure_ascii=False)):
            dropped.append(key)
        else:
            record[key] = value
    if "AI" not in record:
        record["AI"] = _english_ai(None, texts, dropped)
    return record, dropped


def upstream_record(paper: Paper) -> dict[str, Any]:
    """The record upstream writes for a paper, in its key order (``shared/docs/DAE-SITE.md``):
    ``pdf``/``abs`` from the id, ``categories`` = the main category alone, ``comment`` null,
    ``summary`` = the abstract; ``AI`` is filled in by :func:`english_record`."""
    arxiv_id = paper.arxiv_id
    return {"id": arxiv_id, "categories": [paper.category] if paper.category else [],
            "pdf": f"https://arxiv.org/pdf/{arxiv_id}", "abs": f"https://arxiv.org/abs/{arxiv_id}",
            "authors": list(paper.authors), "title": paper.title, "comment": None,
            "summary": paper.abstract, "AI": {}}


def honest_texts(document: PaperDocument | None) -> dict[str, str]:
    """The five English fields of a document as plain text, ``""`` where there is no honest
    English (see the module docstring). The TL;DR falls back to the re-summary when the
    translated TL;DR is not usable."""
    if document is None:
        return {name: "" for name in SUMMARY_FIELDS}
    errors = {issue.field for issue in document.validation.issues if issue.severity == "error"}
    texts = {name: _honest(getattr(document.translation, name), f"translation.{name}" in errors)
             for name in SUMMARY_FIELDS}
    if not texts["tldr"]:
        texts["tldr"] = _honest(document.summary.tldr, "summary.tldr" in errors)
    return texts


def english_texts(document: PaperDocument | None) -> dict[str, str]:
    """:func:`honest_texts` with ``&``, ``<``, ``>`` HTML-escaped, as the English file holds them."""
    return {name: html.escape(text, quote=False) for name, text in honest_texts(document).items()}


def _honest(text: str | None, rejected: bool) -> str:
    """``text`` stripped, or ``""`` when rejected by validation, empty, a placeholder or holding CJK."""
    if rejected or not text or not text.strip() or source_problem(text) or CJK.search(text):
        return ""
    return text.strip()


def _english_ai(source: Any, texts: dict[str, str], dropped: list[str]) -> dict[str, Any]:
    """The ``AI`` object: the input's keys in order with the five fields in English, other keys
    kept when not foreign text (else named in ``dropped``), missing fields appended."""
    ai: dict[str, Any] = {}
    given: set[str] = set()
    for key, value in (source.items() if isinstance(source, dict) else ()):
        name = canonical(key)
        if name in SUMMARY_FIELDS and name not in given:
            ai[key] = texts[name]
            given.add(name)
        elif _foreign(value):
            dropped.append(f"AI.{key}")
        else:
            ai[key] = value
    for name in SUMMARY_FIELDS:  # the keys the site reads, whatever the input called them
        if name not in ai:
            ai[name] = texts[name]
    return ai


def _foreign(value: Any) -> bool:
    """True for an ``AI`` value that is text but not English: any CJK character (also inside a
    list or an object), or a string detected as another language (:func:`pipeline.lang.detect_language`;
    too short to tell counts as English). Numbers, booleans, null, ``""`` are not."""
    if isinstance(value, (list, dict)):
        return bool(CJK.search(json.dumps(value, ensure_ascii=False)))
    if not isinstance(value, str) or not value.strip():
        return False
    return bool(CJK.search(value)) or detect_language(value).language not in ("en", UNKNOWN)


def check_no_cjk(record: dict[str, Any], source: str | Path, arxiv_id: str) -> None:
    """The guard: raise OutputError when a value outside :data:`ARXIV_METADATA` holds a CJK
    character (it would reach readers of the English file)."""
    for key, value in record.items():
        if key in ARXIV_METADATA:
            continue
        text = json.dumps(value, ensure_ascii=False)
        if (match := CJK.search(text)) is not None:
            raise OutputError(source, f"refusing to write CJK text ({match.group()!r}) in {key!r} of the "
                                      "English data file", paper_id=arxiv_id)


def dumps_records(records: list[dict[str, Any]]) -> str:
    """JSON Lines text: one record a line, ASCII escapes, upstream's separators, final newline."""
    return "".join(json.dumps(record, ensure_ascii=True) + "\n" for record in records)


def write_english_file(out_dir: Path, digest: Digest, documents: list[PaperDocument]) -> Path:
    """Write ``out_dir/<english_file_name(digest.path)>`` atomically; returns its path.
    Raises OutputError (nothing written) when the guard finds CJK text."""
    english = english_records(digest, documents)
    path = out_dir / english_file_name(digest.path)
    write_text_atomic(path, dumps_records(english.records))
    return path
