"""The abstract sentences a re-ask should show for a failed content check.

:func:`evidence_sentences` picks, for one :class:`~pipeline.models.ValidationIssue` of a field,
the sentence(s) of the English abstract that cover the part of the source the issue is about,
so that a re-ask can say "the abstract says: ..." next to the offending words. The part of the
source is the source sentence in the same relative position as the English sentence that holds
the offending words (the translate stage keeps the source's sentence order); abstract sentences
are then ranked by what they share with it and with the English sentence -- figures and
Latin-script terms first (weight 3), then content words (stems, or CC-CEDICT glosses of the
source's Chinese words; weight 1) -- and, on a tie or when nothing is shared, by position (a
motivation sits early in an abstract, a result or conclusion late).
"""

from __future__ import annotations

import re

from pipeline.models import ValidationIssue
from pipeline.validate.bilingual import ROOT, source_roots
from pipeline.validate.numbers import extract_number_tokens
from pipeline.validate.terms import is_name_like, source_terms
from pipeline.validate.vocab import content_words, sentences, squash, stems_of

__all__ = ["evidence_sentences", "quoted_words", "FIELD_POSITION"]

#: Where in an abstract each field's content usually is (0 = first sentence, 1 = last).
FIELD_POSITION = {"tldr": 0.5, "motivation": 0.1, "method": 0.45, "result": 0.75, "conclusion": 0.95}
_QUOTED = re.compile(r'"([^"]{1,80})"')
_SOURCE_SENTENCE_END = re.compile(r"(?<=[。！？；;!?])")


def quoted_words(issue: ValidationIssue) -> list[str]:
    """The words an issue's message quotes (``term "Model Y" is ...`` -> ``["Model Y"]``)."""
    return _QUOTED.findall(issue.message)


def _anchors(text: str) -> set[str]:
    """Figures (canonical) and Latin-script terms (squashed) of ``text``."""
    found = {t.canonical for t in extract_number_tokens(text) if t.origin in ("digits", "cjk", "word")}
    return found | {squash(t) for t in source_terms(text) if len(t) >= 2 and is_name_like(t)}


def _roots(text: str) -> set[str]:
    return {s[:ROOT] for w in content_words(text) for s in stems_of(w)}


def _pick(items: list[str], index: int, count: int) -> str:
    """The item at the same relative position as ``index`` of ``count``."""
    if not items:
        return ""
    return items[min(len(items) - 1, round(index * (len(items) - 1) / max(1, count - 1)))]


def _focus(issue: ValidationIssue, text: str, source: str | None) -> tuple[str, str]:
    """(English sentence holding the offending words, the source sentence at its position)."""
    english = sentences(text) or [text]
    quoted = [q.lower() for q in quoted_words(issue)]
    index = next((i for i, s in enumerate(english) if any(q in s.lower() for q in quoted)), 0)
    if not source:
        return english[index], ""
    parts = [p for p in _SOURCE_SENTENCE_END.split(source) if p.strip()]
    return english[index], _pick(parts, index, len(english)) or source


def evidence_sentences(issue: ValidationIssue, text: str, *, source: str | None, abstract: str,
                       limit: int = 2) -> list[str]:
    """Up to ``limit`` sentences of ``abstract``, in abstract order, covering the part of the
    field ``text`` (whose source is ``source``, or None) that ``issue`` is about (see the module
    docstring). Empty when the abstract is empty. Deterministic."""
    candidates = sentences(abstract or "")
    if not candidates:
        return []
    english, part = _focus(issue, text, source)
    anchors = _anchors(part) | _anchors(english) if part else _anchors(english)
    offending = {s[:ROOT] for q in quoted_words(issue) for w in content_words(q) for s in stems_of(w)}
    words = (_roots(english) - offending) | (source_roots(part) if part else set())
    name = issue.field.rsplit(".", 1)[-1]
    prior = FIELD_POSITION.get(name, 0.5) * (len(candidates) - 1)
    scored = []
    for i, sentence in enumerate(candidates):
        score = 3 * len(anchors & _anchors(sentence)) + len(words & _roots(sentence))
        scored.append((-score, abs(i - prior), i))
    chosen = sorted(i for _, _, i in sorted(scored)[:limit])
    return [candidates[i] for i in chosen]
