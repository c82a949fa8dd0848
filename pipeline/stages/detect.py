"""Stage ``detect``: the language and usability of every source field of a paper.

No model call. A field is ``missing`` when the digest lacks it, ``source_failed`` when the parser
found a failure placeholder, refusal or unfilled template in it (``Paper.source_problems``), else
``ok`` with its detected language (:func:`pipeline.lang.detect_language`).
"""

from __future__ import annotations

from pipeline.lang import detect_language
from pipeline.models import SUMMARY_FIELDS, Paper, SourceField

STAGE_VERSION = "1"


def detect_fields(paper: Paper) -> dict[str, SourceField]:
    """Map each of :data:`SUMMARY_FIELDS` to its :class:`SourceField` (text, language, status)."""
    return {name: _detect_one(paper, name) for name in SUMMARY_FIELDS}


def _detect_one(paper: Paper, name: str) -> SourceField:
    text = paper.fields.get(name)
    if not text or not text.strip():
        return SourceField(text=text, language=None, status="missing")
    if name in paper.source_problems:
        return SourceField(text=text, language=None, status="source_failed")
    return SourceField(text=text, language=detect_language(text).language, status="ok")


def needs_translation(field: SourceField) -> bool:
    """True when the field is usable content that is not already English."""
    return field.status == "ok" and field.language not in ("en",)
