"""Translation against its Chinese source, word by word: added claims and dropped content.

Two content checks for translated fields (a Chinese ``source`` is needed; both are quiet
without one), built on CC-CEDICT glosses (:mod:`pipeline.validate.bilingual`):

* ``unsupported_claim`` -- English content words that neither the abstract, the title, the
  source's Latin-script words nor a gloss of a source word support: what the translator added
  ("approved for clinical use in several hospitals"). Names and figures are left to
  ``invented_term`` / ``invented_figure``.
* ``omission`` -- the share of the source's content words (function words aside) with no
  English counterpart among the glosses: what the translator dropped.

Thresholds were set on the tune half of ``tests/data/faithfulness/labelled.json`` and checked
on hand translations of other sample papers (``tests/data/validate/seed_good_english.json``):
faithful translations leave at most 3 words unsupported and cover at least 52% of the source's
content words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipeline.models import ValidationIssue
from pipeline.validate.bilingual import ROOT, glosses, source_roots, source_units
from pipeline.validate.terms_en import english_terms
from pipeline.validate.vocab import WORD_CACHE, Support, content_words, support, supported, word_info, words

__all__ = ["check_unsupported_claim", "check_omission", "check_substituted_term",
           "unsupported_words", "uncovered_units", "dropped_key_terms",
           "UNSUPPORTED_ERROR_WORDS", "COVERAGE_ERROR_BELOW", "COVERAGE_MIN_UNITS"]

UNSUPPORTED_ERROR_WORDS = 4
"""This many distinct unsupported content words in one translated field are an error."""
UNSUPPORTED_WARNING_WORDS = 2
"""... and this many a warning."""
COVERAGE_ERROR_BELOW = 0.5
"""A translation covering less than this share of the source's content words is an error."""
COVERAGE_MIN_UNITS = 6
"""Sources with fewer content words are too short to judge coverage."""
KEY_TERM_MAX_ZIPF = 4.5
"""An abstract word rarer than this (Zipf) is one of the paper's own terms ("semantics")."""
SUBSTITUTE_MAX_ZIPF = 4.3
"""An unsupported English word rarer than this can stand in for a dropped key term."""


def _issue(field: str, check: str, severity: str, message: str) -> ValidationIssue:
    return ValidationIssue(field=field, check=check, severity=severity, message=message)


@lru_cache(maxsize=WORD_CACHE)
def _roots(word: str) -> frozenset[str]:
    return frozenset(s[:ROOT] for s in word_info(word).stems)


def _has_cjk(source: str | None) -> bool:
    return bool(source) and any("\u4e00" <= c <= "\u9fff" for c in source)


_COMPOUND = re.compile(r"\b[A-Za-z]+(?:-[A-Za-z]+)+\b")


def _compounds(text: str) -> list[tuple[str, list[str]]]:
    """Hyphenated compounds of ``text``, closed up and lower case, with their parts:
    ``"multi-modal"`` -> ``("multimodal", ["multi", "modal"])``."""
    return [(m.group().replace("-", "").lower(), m.group().lower().split("-")) for m in _COMPOUND.finditer(text)]


def _rendered_roots(text: str) -> set[str]:
    """Roots of the English words of ``text``, and of its hyphenated compounds closed up
    ("multi-modal" renders 多模态 as "multimodal" does)."""
    return {r for w in words(text) for r in _roots(w)} | {r for joined, _ in _compounds(text) for r in _roots(joined)}


def unsupported_words(text: str, source: str, evidence: Support) -> list[str]:
    """Distinct content words of ``text`` (in order) that ``evidence`` (abstract, title, source's
    Latin words) does not support and no gloss of ``source`` accounts for; number words, the
    words of name-like terms, and the parts of a hyphenated compound that is supported closed up
    ("multi-modal" where the abstract has "multimodal") left out."""
    glossed = source_roots(source)
    names = {w for term in english_terms(text) for w in words(term.text)}
    names |= {part for joined, parts in _compounds(text) if supported(joined, evidence) for part in parts}
    return [w for w in dict.fromkeys(content_words(text))
            if not word_info(w).number and w not in names and not supported(w, evidence)
            and not _roots(w) & glossed]


def uncovered_units(text: str, source: str) -> tuple[list[str], int]:
    """(the source's content words that no English word of ``text`` renders, how many content
    words the source has). A word counts as rendered when a gloss of it, or of one of its
    characters, shares a root with an English word (CC-CEDICT lacks many technical compounds:
    "后处理" is rendered by "post-processing" through 处理 "processing")."""
    rendered = _rendered_roots(text)
    units = source_units(source)
    return [unit for unit, roots in units
            if not roots & rendered and not any(glosses(c) & rendered for c in unit)], len(units)


def check_unsupported_claim(field: str, text: str, source: str | None, abstract: str | None,
                            title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``unsupported_claim``: :func:`unsupported_words` of a translation; error from
    :data:`UNSUPPORTED_ERROR_WORDS` words, warning from :data:`UNSUPPORTED_WARNING_WORDS`."""
    if not _has_cjk(source):
        return []
    evidence = support(source, abstract, title)
    if evidence.empty:
        return []
    found = unsupported_words(text, source, evidence)
    if len(found) < UNSUPPORTED_WARNING_WORDS:
        return []
    severity = "error" if len(found) >= UNSUPPORTED_ERROR_WORDS else "warning"
    shown = ", ".join(f'"{w}"' for w in found[:8])
    return [_issue(field, "unsupported_claim", severity,
                   f"words that neither the source nor the abstract says: {shown}")]


_SOURCE_MARKER = re.compile(r"(?:^|(?<=[\s；;。，,：:]))[(（]?(\d{1,2})[)）.、](?!\d)")
_ENGLISH_MARKER = re.compile(r"(?:^|(?<=[\s;:,.]))\(?(\d{1,2})[).](?!\d)")


def _list_items(text: str, pattern: re.Pattern[str]) -> set[int]:
    """Numbers of the list items ``1)`` ... ``N)`` of ``text``: the longest run 1, 2, ... found."""
    found = {int(m.group(1)) for m in pattern.finditer(text)}
    count = 0
    while count + 1 in found:
        count += 1
    return set(range(1, count + 1)) if count >= 2 else set()


def missing_list_items(text: str, source: str) -> list[int]:
    """Items of the source's numbered list ("1) ... 2) ... 3)") that the English does not number."""
    wanted = _list_items(source, _SOURCE_MARKER)
    return sorted(wanted - _list_items(text, _ENGLISH_MARKER)) if wanted else []


def check_omission(field: str, text: str, source: str | None, abstract: str | None,
                   title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``omission`` (error): the translation renders less than :data:`COVERAGE_ERROR_BELOW` of
    the source's content words (sources of at least :data:`COVERAGE_MIN_UNITS`), or drops items
    of the source's numbered list; the message names what is left out."""
    if not _has_cjk(source) or support(source, abstract, title).empty:
        return []
    issues = []
    items = missing_list_items(text, source)
    if items:
        issues.append(_issue(field, "omission", "error", "item(s) " + ", ".join(f"{i})" for i in items)
                             + " of the source's numbered list are missing"))
    missing, total = uncovered_units(text, source)
    if total >= COVERAGE_MIN_UNITS and (total - len(missing)) / total < COVERAGE_ERROR_BELOW:
        issues.append(_issue(field, "omission", "error",
                             f"the English renders {total - len(missing)} of the source's {total} "
                             f"content words; left out: {'、'.join(missing[:12])}"))
    return issues


def _key_roots(abstract: str | None, title: str | None) -> dict[str, str]:
    """Root -> abstract/title word, for the words rarer than :data:`KEY_TERM_MAX_ZIPF`."""
    found: dict[str, str] = {}
    for word in words(f"{title or ''} {abstract or ''}"):
        if len(word) >= 3 and word_info(word).zipf < KEY_TERM_MAX_ZIPF:
            for r in _roots(word):
                found.setdefault(r, word)
    return found


def dropped_key_terms(text: str, source: str, abstract: str | None,
                      title: str | None) -> list[tuple[str, str]]:
    """(source word, abstract word) for each source word of two characters or more that glosses
    to one of the paper's own terms (an abstract or title word rarer than
    :data:`KEY_TERM_MAX_ZIPF`) and that no English word of ``text`` renders."""
    keys = _key_roots(abstract, title)
    rendered = _rendered_roots(text)
    dropped = []
    for unit, roots in source_units(source):
        shared = sorted(roots & keys.keys())
        if len(unit) >= 2 and shared and not roots & rendered:
            dropped.append((unit, keys[shared[0]]))
    return dropped


def check_substituted_term(field: str, text: str, source: str | None, abstract: str | None,
                           title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``substituted_term`` (error): one of the paper's terms in the source is not rendered
    (:func:`dropped_key_terms`) while the English has an uncommon word (Zipf below
    :data:`SUBSTITUTE_MAX_ZIPF`) that neither source nor abstract supports -- a wrong-domain
    word in its place ("color quantization" for 语义 "semantics")."""
    if not _has_cjk(source):
        return []
    evidence = support(source, abstract, title)
    if evidence.empty:
        return []
    odd = [w for w in unsupported_words(text, source, evidence)
           if word_info(w).zipf < SUBSTITUTE_MAX_ZIPF]
    dropped = dropped_key_terms(text, source, abstract, title) if odd else []
    if not dropped:
        return []
    terms = ", ".join(f'{zh} ("{en}" in the abstract)' for zh, en in dropped[:4])
    shown = ", ".join(f'"{w}"' for w in odd[:4])
    return [_issue(field, "substituted_term", "error",
                   f"the source's {terms} has no counterpart; the English has {shown} instead")]
