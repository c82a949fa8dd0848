"""Checks that compare an English text with what it was made from (no model calls).

A translated field against its Chinese source (``unchanged``, ``numbers_preserved``,
``terms_preserved``, ``length`` with its expected-length ratio); the re-summary and a field
written from the abstract against the abstract and the translation (``unchanged`` of the whole
abstract, ``invented_numbers``, the summary ``length``). Thresholds and severities: the table in
:mod:`pipeline.validate.checks`.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

from pipeline.lang import cjk_share, detect_language
from pipeline.models import ValidationIssue
from pipeline.validate.checks import (
    EXPECTED_CHARS_PER,
    LENGTH_RATIO_ERROR,
    LENGTH_RATIO_WARNING,
    SPACE,
    SUMMARY_MAX_CHARS,
    SUMMARY_MAX_SENTENCES,
    SUMMARY_MIN_CHARS,
    TRANSLATION_MAX_CHARS,
    TRANSLATION_MAX_CHARS_DEFAULT,
    TRANSLATION_MIN_CHARS,
    UNCHANGED_SIMILARITY,
    dangling_end,
    make_issue,
)
from pipeline.validate.numbers import NumberToken, approx_matches, extract_number_tokens, token_matches
from pipeline.validate.patterns import source_failure
from pipeline.validate.terms import is_name_like, source_terms, term_present

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile("[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|et al|vs|cf|Fig|Eq|Sec|approx|resp)\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'$\[])")


def _normalise(text: str) -> str:
    return SPACE.sub(" ", text).strip().casefold()


def _similarity(a: str, b: str) -> float:
    """difflib ratio, skipping the quadratic pass when the cheap upper bound already fails."""
    if 2 * min(len(a), len(b)) < UNCHANGED_SIMILARITY * (len(a) + len(b)):
        return 0.0  # the ratio can never reach the threshold
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.quick_ratio() >= UNCHANGED_SIMILARITY else 0.0


def check_unchanged(field: str, text: str, source: str | None) -> list[ValidationIssue]:
    """``unchanged`` (error): ``text`` equals ``source`` (ignoring case and whitespace), contains a
    CJK source verbatim, or is >= 0.90 similar to it (difflib ratio)."""
    if not source or not source.strip():
        return []
    a, b = _normalise(text), _normalise(source)
    if a == b:
        return [make_issue(field, "unchanged", "error", "translation is identical to the source")]
    if len(b) >= 8 and cjk_share(b) > 0.3 and b in a:
        return [make_issue(field, "unchanged", "error", "translation contains the source text verbatim")]
    similarity = _similarity(a, b)
    if similarity >= UNCHANGED_SIMILARITY:
        return [make_issue(field, "unchanged", "error",
                       f"translation is nearly identical to the source (similarity {similarity:.2f})")]
    return []


def _written(token: NumberToken) -> str:
    return f' (written "{token.raw}")' if token.raw and token.raw != token.canonical else ""


def _missing_number_issue(field: str, token: NumberToken) -> ValidationIssue:
    strong = token.origin == "digits" or token.kind in ("percent", "points", "times")
    return make_issue(field, "numbers_preserved", "error" if strong else "warning",
                  f'number "{token.canonical}"{_written(token)} from the source is missing')


def check_numbers_preserved(field: str, text: str, source: str | None) -> list[ValidationIssue]:
    """``numbers_preserved``: error for each figure of ``source`` missing from ``text`` (digits,
    percentages, 倍/万/亿 forms, 百分之...; English words count for small numbers) and for each
    figure written in digits in ``text`` that is not in ``source``; warning for a missing
    Chinese-numeral count (三, 两, 十二) -- those are often idiomatic."""
    if not source:
        return []
    src, out = extract_number_tokens(source), extract_number_tokens(text)
    rendered = [t for t in out if t.origin != "ident"]
    issues, seen = [], set()
    for token in src:
        if token.required and token.canonical not in seen and not token_matches(token, rendered):
            seen.add(token.canonical)
            issues.append(_missing_number_issue(field, token))
    values = {t.value for t in src if t.value is not None} | {t.canonical for t in src}
    for token in out:
        if token.origin == "digits" and token.value not in values and token.canonical not in values:
            values.add(token.canonical)
            issues.append(make_issue(field, "numbers_preserved", "error",
                                 f'number "{token.canonical}"{_written(token)} is not in the source'))
    return issues


def check_terms_preserved(field: str, text: str, source: str | None) -> list[ValidationIssue]:
    """``terms_preserved``: for a CJK source, each Latin-script term (``FeTTL``, ``GPT-4o``,
    ``ImageNet``) missing from ``text`` (case-insensitive, see
    :func:`~pipeline.validate.terms.term_present`). Warning; error for all of them when more
    than half of the terms are missing and at least one missing term is a name/acronym."""
    if not source or detect_language(source).language not in ("zh", "ja", "ko"):
        return []
    terms = source_terms(source)
    missing = [t for t in terms if not term_present(t, text)]
    severe = 2 * len(missing) > len(terms) and any(is_name_like(t) for t in missing)
    return [make_issue(field, "terms_preserved", "error" if severe else "warning",
                   f'term "{t}" from the source is missing ({len(missing)} of {len(terms)} missing)')
            for t in missing]


@lru_cache(maxsize=4096)
def expected_english_chars(source: str) -> float:
    """English length expected for a CJK ``source`` (weights in :data:`EXPECTED_CHARS_PER`)."""
    han, kana, hangul = (len(r.findall(source)) for r in (_HAN, _KANA, _HANGUL))
    other = len(SPACE.sub("", source)) - han - kana - hangul
    return (han * EXPECTED_CHARS_PER["han"] + kana * EXPECTED_CHARS_PER["kana"]
            + hangul * EXPECTED_CHARS_PER["hangul"] + other)


def _ratio_issue(field: str, length: int, source: str) -> list[ValidationIssue]:
    expected = expected_english_chars(source)
    if expected < 20:
        return []
    ratio = length / expected
    for severity, (low, high) in (("error", LENGTH_RATIO_ERROR), ("warning", LENGTH_RATIO_WARNING)):
        if not low <= ratio <= high:
            return [make_issue(field, "length", severity,
                           f"translation is {length} characters, {ratio:.2f}x the ~{expected:.0f} "
                           f"expected from the source (allowed {low}-{high})")]
    return []


def check_translation_length(field: str, text: str, source: str | None,
                             name: str = "") -> list[ValidationIssue]:
    """``length``: error below 20 / above 800 (tl;dr) or 1500 characters, when the text stops
    mid-sentence, or when the ratio to the expected English length is outside 0.3-3.0
    (warning outside 0.5-2.0)."""
    length = len(text.strip())
    limit = TRANSLATION_MAX_CHARS.get(name, TRANSLATION_MAX_CHARS_DEFAULT)
    if length < TRANSLATION_MIN_CHARS or length > limit:
        return [make_issue(field, "length", "error", f"translation is {length} characters; "
                       f"expected {TRANSLATION_MIN_CHARS}-{limit} for {name or 'a field'}")]
    dangling = dangling_end(text)
    if dangling:
        return [make_issue(field, "length", "error", f'text stops mid-sentence after "{dangling}"')]
    if source and not source_failure(source):
        return _ratio_issue(field, length, source)
    return []


def _sentences(text: str) -> list[str]:
    masked = _ABBREVIATIONS.sub(lambda m: m.group().replace(".", "\u2024"), text.strip())
    return [s for s in _SENTENCE_END.split(masked) if s.strip()]


def check_summary_unchanged(field: str, text: str, abstract: str) -> list[ValidationIssue]:
    """``unchanged`` (error): the summary is the whole abstract (equal or >= 0.90 similar).
    A summary equal to the abstract's first sentence is allowed."""
    if not abstract or not abstract.strip():
        return []
    a, b = _normalise(text), _normalise(abstract)
    if len(_sentences(abstract)) < 2 and a == b:
        return []
    similarity = 1.0 if a == b else _similarity(a, b)
    if similarity >= UNCHANGED_SIMILARITY:
        what = "identical to" if a == b else f"nearly identical to (similarity {similarity:.2f})"
        return [make_issue(field, "unchanged", "error", f"summary is {what} the whole abstract")]
    return []


def check_invented_numbers(field: str, text: str, sources: list[str]) -> list[ValidationIssue]:
    """``invented_numbers`` (error): a figure written in digits in the summary that appears in none
    of ``sources`` (abstract + translated fields), allowing rounding to the digits written
    (``90%`` for ``90.3%``) and spelled-out forms (``3`` for ``three``). Years are figures too;
    list markers and digits inside identifiers (``GPT-4o``) are ignored."""
    written = [tok for tok in extract_number_tokens(text) if tok.origin == "digits"]
    if not written:
        return []  # nothing to look up: the sources are not even scanned
    pool = [tok for src in sources for tok in extract_number_tokens(src)]
    issues, seen = [], set()
    for token in written:
        if token.canonical not in seen and not approx_matches(token, pool):
            seen.add(token.canonical)
            issues.append(make_issue(field, "invented_numbers", "error",
                                 f'number "{token.canonical}"{_written(token)} appears in neither '
                                 "the abstract nor the translation"))
    return issues


def check_summary_length(field: str, text: str) -> list[ValidationIssue]:
    """``length``: error outside 40-600 characters or when the summary stops mid-sentence;
    warning above 3 sentences."""
    length = len(text.strip())
    if not SUMMARY_MIN_CHARS <= length <= SUMMARY_MAX_CHARS:
        return [make_issue(field, "length", "error", f"summary is {length} characters; expected "
                       f"{SUMMARY_MIN_CHARS}-{SUMMARY_MAX_CHARS}")]
    dangling = dangling_end(text)
    if dangling:
        return [make_issue(field, "length", "error", f'text stops mid-sentence after "{dangling}"')]
    count = len(_sentences(text))
    if count > SUMMARY_MAX_SENTENCES:
        return [make_issue(field, "length", "warning",
                       f"summary has {count} sentences; expected 1-{SUMMARY_MAX_SENTENCES}")]
    return []
