"""Deterministic checks for translated fields and the English re-summary (no model calls).

Entry points: :func:`check_translation`, :func:`check_summary` and :func:`check_generated` (a
field written from the abstract because its source was missing); each returns a list of
:class:`~pipeline.models.ValidationIssue` (empty = passed). Each check has a stable name
(:data:`CHECK_NAMES`) and its own small function ``check_<name>``; ``error`` means the output is
wrong and should be re-asked, ``warning`` means a doubtful signal a reader may want to see.

=====================  =====================================================  ==================
check                  fires when                                             severity
=====================  =====================================================  ==================
``schema``             text is None, not a string, or blank                   error
``language``           detected language is not English (p >= 0.80)           error (else warning)
                       English detected with p < 0.70                         warning
``residual_cjk``       CJK share >= 2% of non-space characters                error
                       any CJK below that / full-width punctuation            warning
``unchanged``          equal to the source (after normalising case/space),    error
                       contains a CJK source verbatim, or similarity >= 0.90
                       summary: equal / >= 0.90 similar to the whole abstract error
``numbers_preserved``  a figure of the source (digits, %, 倍, 万, 百分之...)    error
                       is missing, or the translation adds a figure
                       a Chinese-numeral count (三, 两, 十二) is missing         warning
``terms_preserved``    a Latin-script term of a CJK source is missing         warning; error when
                                                                              more than half are
                                                                              missing incl. a name
``invented_numbers``   a figure in the summary is in neither the abstract     error
                       nor the translation (rounding to the written digits
                       is allowed; list markers and identifiers are ignored)
``length``             translation < 20 or > 800 (tl;dr) / 1500 characters,  error
                       length ratio outside 0.3-3.0 of the expected English,
                       or text stops mid-sentence ("... network that")
                       length ratio outside 0.5-2.0                           warning
                       summary < 40 or > 600 characters / stops mid-sentence  error
                       summary longer than 3 sentences                        warning
``placeholder``        failure/refusal/preamble/label/template text, or the   error
                       source itself is a failure placeholder
``repetition``         a word repeated 4+ times in a row ("as-as-as-as") or a  error
                       2-6 word phrase 3+ times (8+ for numbers and single
                       characters: "(1, 1, 1, 1)" is fine): a looping model
``latex_balance``      unbalanced $, \\( \\), \\[ \\], braces or \\left/\\right    error
                       in math; command without backslash or eaten by JSON
                       braces unbalanced outside math; source command missing warning
=====================  =====================================================  ==================

The length ratio compares the translation with the English length expected from the source:
4.2 characters per CJK ideograph, 1.2 per kana, 2.2 per hangul syllable, 1 per other
non-space character (calibrated on hand translations of seed-digest fields, where faithful
English falls at 0.85-1.2 of it).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any, Mapping

from pipeline.lang import cjk_share, detect_language
from pipeline.models import ValidationIssue
from pipeline.validate.latex import latex_errors, latex_warnings
from pipeline.validate.numbers import (
    NumberToken,
    approx_matches,
    extract_number_tokens,
    token_matches,
)
from pipeline.validate.patterns import find_placeholders, source_failure
from pipeline.validate.terms import is_name_like, source_terms, term_present

__all__ = [
    "CHECK_NAMES",
    "TRANSLATION_CHECKS",
    "SUMMARY_CHECKS",
    "GENERATED_CHECKS",
    "SUMMARY_FIELD",
    "check_translation",
    "check_summary",
    "check_generated",
]

CHECK_NAMES: tuple[str, ...] = (
    "schema", "language", "residual_cjk", "unchanged", "numbers_preserved", "terms_preserved",
    "invented_numbers", "length", "placeholder", "repetition", "latex_balance",
)
TRANSLATION_CHECKS: tuple[str, ...] = (
    "schema", "language", "residual_cjk", "unchanged", "numbers_preserved", "terms_preserved",
    "length", "placeholder", "repetition", "latex_balance",
)
SUMMARY_CHECKS: tuple[str, ...] = (
    "schema", "language", "residual_cjk", "unchanged", "invented_numbers", "length",
    "placeholder", "repetition", "latex_balance",
)
#: Checks of a field written from the abstract because its source was missing or a placeholder.
GENERATED_CHECKS: tuple[str, ...] = (
    "schema", "language", "residual_cjk", "unchanged", "invented_numbers", "length",
    "placeholder", "latex_balance",
)
SUMMARY_FIELD = "summary.tldr"

# ---- thresholds (documented in the module docstring)
LANGUAGE_ERROR_PROBABILITY = 0.80
ENGLISH_WEAK_PROBABILITY = 0.70
RESIDUAL_CJK_ERROR_SHARE = 0.02
UNCHANGED_SIMILARITY = 0.90
TRANSLATION_MIN_CHARS = 20
TRANSLATION_MAX_CHARS = {"tldr": 800}
TRANSLATION_MAX_CHARS_DEFAULT = 1500
LENGTH_RATIO_ERROR = (0.3, 3.0)
LENGTH_RATIO_WARNING = (0.5, 2.0)
EXPECTED_CHARS_PER = {"han": 4.2, "kana": 1.2, "hangul": 2.2}
SUMMARY_MIN_CHARS = 40
SUMMARY_MAX_CHARS = 600
SUMMARY_MAX_SENTENCES = 3

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile("[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CJK_RUN = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                      "\U00020000-\U0002fa1f\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+")
_FULLWIDTH_PUNCT = re.compile("[，。：；！？（）【】、「」『』《》]")
_SPACE = re.compile(r"\s+")
_DANGLING = re.compile(
    r"(?:\b(?:the|a|an|that|which|who|whose|of|and|or|but|to|with|for|by|from|as|is|are|was|"
    r"were|its|their|our|than|into|via|while|whereas|between|such|this|these)|[,;:(\-–—/\\]|\.\.\.|…)"
    r"\s*$",
    re.IGNORECASE,
)
_ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|et al|vs|cf|Fig|Eq|Sec|approx|resp)\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'$\[])")


def _issue(field: str, check: str, severity: str, message: str) -> ValidationIssue:
    return ValidationIssue(field=field, check=check, severity=severity, message=message)


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.095 else f"{share:.1%}"


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _similarity(a: str, b: str) -> float:
    """difflib ratio, skipping the quadratic pass when the cheap upper bound already fails."""
    if 2 * min(len(a), len(b)) < UNCHANGED_SIMILARITY * (len(a) + len(b)):
        return 0.0  # the ratio can never reach the threshold
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.quick_ratio() >= UNCHANGED_SIMILARITY else 0.0


# --------------------------------------------------------------------------- shared checks

def check_schema(field: str, text: Any) -> list[ValidationIssue]:
    """``schema``: error when ``text`` is None, not a string, or blank."""
    if text is None:
        return [_issue(field, "schema", "error", "text is missing (None)")]
    if not isinstance(text, str):
        return [_issue(field, "schema", "error", f"text is {type(text).__name__}, expected a string")]
    if not text.strip():
        return [_issue(field, "schema", "error", "text is empty")]
    return []


def check_language(field: str, text: str) -> list[ValidationIssue]:
    """``language``: error when another language is detected with p >= 0.80 (warning below);
    warning when English is detected with p < 0.70. Silent on text too short to judge."""
    guess = detect_language(text)
    if guess.language == "unknown":
        return []
    if guess.language == "en":
        if guess.probability >= ENGLISH_WEAK_PROBABILITY:
            return []
        return [_issue(field, "language", "warning",
                       f"text is only weakly detected as English (probability {guess.probability:.2f})")]
    severity = "error" if guess.probability >= LANGUAGE_ERROR_PROBABILITY else "warning"
    return [_issue(field, "language", severity,
                   f"text is detected as {guess.language} (probability {guess.probability:.2f}), "
                   "expected English")]


def check_residual_cjk(field: str, text: str) -> list[ValidationIssue]:
    """``residual_cjk``: error when CJK characters are >= 2% of non-space characters; warning
    for fewer CJK characters or for full-width CJK punctuation."""
    share = cjk_share(text)
    runs = _CJK_RUN.findall(text)
    if share >= RESIDUAL_CJK_ERROR_SHARE:
        return [_issue(field, "residual_cjk", "error",
                       f'{_pct(share)} of characters are CJK (e.g. "{max(runs, key=len, default="")[:20]}")')]
    if runs:
        count = sum(map(len, runs))
        return [_issue(field, "residual_cjk", "warning",
                       f'{count} CJK character(s) remain ("{"".join(runs)[:20]}")')]
    punct = _FULLWIDTH_PUNCT.findall(text)
    if punct:
        return [_issue(field, "residual_cjk", "warning",
                       f'full-width CJK punctuation remains ("{"".join(dict.fromkeys(punct))}")')]
    return []


def check_placeholder(field: str, text: str, source: str | None = None) -> list[ValidationIssue]:
    """``placeholder`` (error): failure/refusal/preamble/label/template/marker text in ``text``
    (see :mod:`pipeline.validate.patterns`), or a ``source`` that is itself a failure sentinel."""
    issues = [_issue(field, "placeholder", "error", f'contains {kind} "{match[:60]}"')
              for kind, match in find_placeholders(text)]
    failed = source_failure(source)
    if failed:
        issues.append(_issue(field, "placeholder", "error",
                             f'the source is itself a failure placeholder ("{failed[:60]}"); '
                             "it should not be translated"))
    return issues


_WORD = re.compile(r"\w+")
REPEATED_WORD_RUN = 4
"""A word this many times in a row is a loop (``the the the the``); a phrase, one fewer."""
REPEATED_SHORT_RUN = 8
"""Repeats needed when every word of the unit is a number or a single character: ``(1, 1, 1,
1)``, ``0.0.0.0``, ``1:1:1:1`` or ``H-H`` are ordinary text; ``1. 1. 1. 1. 1. 1. 1. 1.`` is not."""


def _repeated_run(text: str) -> tuple[str, int] | None:
    """The first run of one word repeated :data:`REPEATED_WORD_RUN`+ times in a row, or of a
    2-6 word phrase repeated one time fewer (words compared case-blind, separators ignored;
    units of numbers and single characters need :data:`REPEATED_SHORT_RUN`), as (the word or
    phrase, times); None when there is none.

    A unit of ``size`` words repeated ``k`` times is ``(k - 1) * size`` positions in a row where a
    word equals the one ``size`` further on; those equalities are looked for as a run of "1"s."""
    words = _WORD.findall(text.lower())
    for size in range(1, 7):
        same = "".join("1" if a == b else "0" for a, b in zip(words, words[size:]))
        loop = "1" * ((REPEATED_WORD_RUN - (size > 1) - 1) * size)
        start = same.find(loop)
        while start >= 0:
            run = len(same[start:]) - len(same[start:].lstrip("1"))
            unit, times = words[start:start + size], run // size + 1
            short = all(w.isdigit() or len(w) == 1 for w in unit)
            if not short or times >= REPEATED_SHORT_RUN:
                return " ".join(unit), times
            start = same.find(loop, start + run)
    return None


def check_repetition(field: str, text: str) -> list[ValidationIssue]:
    """``repetition`` (error): the text loops: a word repeated :data:`REPEATED_WORD_RUN`+ times
    in a row (``similarity-as-as-as-as``) or a 2-6 word phrase 3+ times; a unit of numbers or
    single characters :data:`REPEATED_SHORT_RUN`+ times (``1. 1. 1. 1. 1. 1. 1. 1.``)."""
    found = _repeated_run(text)
    if found is None:
        return []
    unit, times = found
    return [_issue(field, "repetition", "error", f'"{unit}" repeated {times} times in a row (the model looped)')]


def _may_hold_latex(text: str) -> bool:
    return any(c in text for c in "$\\{}\x08\x0c")


def check_latex_balance(field: str, text: str, source: str | None = None) -> list[ValidationIssue]:
    """``latex_balance``: errors from :func:`~pipeline.validate.latex.latex_errors`, warnings from
    :func:`~pipeline.validate.latex.latex_warnings` (source commands only for translations)."""
    if not _may_hold_latex(text) and not (source and "\\" in source):
        return []
    return ([_issue(field, "latex_balance", "error", m) for m in latex_errors(text)]
            + [_issue(field, "latex_balance", "warning", m) for m in latex_warnings(text, source)])


def _truncation(text: str) -> str | None:
    m = _DANGLING.search(text.rstrip()[-16:])
    return m.group().strip() if m else None


# --------------------------------------------------------------------------- translation checks

def check_unchanged(field: str, text: str, source: str | None) -> list[ValidationIssue]:
    """``unchanged`` (error): ``text`` equals ``source`` (ignoring case and whitespace), contains a
    CJK source verbatim, or is >= 0.90 similar to it (difflib ratio)."""
    if not source or not source.strip():
        return []
    a, b = _normalise(text), _normalise(source)
    if a == b:
        return [_issue(field, "unchanged", "error", "translation is identical to the source")]
    if len(b) >= 8 and cjk_share(b) > 0.3 and b in a:
        return [_issue(field, "unchanged", "error", "translation contains the source text verbatim")]
    similarity = _similarity(a, b)
    if similarity >= UNCHANGED_SIMILARITY:
        return [_issue(field, "unchanged", "error",
                       f"translation is nearly identical to the source (similarity {similarity:.2f})")]
    return []


def _written(token: NumberToken) -> str:
    return f' (written "{token.raw}")' if token.raw and token.raw != token.canonical else ""


def _missing_number_issue(field: str, token: NumberToken) -> ValidationIssue:
    strong = token.origin == "digits" or token.kind in ("percent", "points", "times")
    return _issue(field, "numbers_preserved", "error" if strong else "warning",
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
            issues.append(_issue(field, "numbers_preserved", "error",
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
    return [_issue(field, "terms_preserved", "error" if severe else "warning",
                   f'term "{t}" from the source is missing ({len(missing)} of {len(terms)} missing)')
            for t in missing]


@lru_cache(maxsize=4096)
def expected_english_chars(source: str) -> float:
    """English length expected for a CJK ``source`` (weights in :data:`EXPECTED_CHARS_PER`)."""
    han, kana, hangul = (len(r.findall(source)) for r in (_HAN, _KANA, _HANGUL))
    other = len(_SPACE.sub("", source)) - han - kana - hangul
    return (han * EXPECTED_CHARS_PER["han"] + kana * EXPECTED_CHARS_PER["kana"]
            + hangul * EXPECTED_CHARS_PER["hangul"] + other)


def _ratio_issue(field: str, length: int, source: str) -> list[ValidationIssue]:
    expected = expected_english_chars(source)
    if expected < 20:
        return []
    ratio = length / expected
    for severity, (low, high) in (("error", LENGTH_RATIO_ERROR), ("warning", LENGTH_RATIO_WARNING)):
        if not low <= ratio <= high:
            return [_issue(field, "length", severity,
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
        return [_issue(field, "length", "error", f"translation is {length} characters; "
                       f"expected {TRANSLATION_MIN_CHARS}-{limit} for {name or 'a field'}")]
    dangling = _truncation(text)
    if dangling:
        return [_issue(field, "length", "error", f'text stops mid-sentence after "{dangling}"')]
    if source and not source_failure(source):
        return _ratio_issue(field, length, source)
    return []


def _field_path(field: str) -> tuple[str, str]:
    name = field.split(".", 1)[1] if field.startswith("translation.") else field
    return f"translation.{name}", name


def check_translation(field: str, text: str | None, source: str | None) -> list[ValidationIssue]:
    """Run every translation check on the English ``text`` of source field ``field``.

    ``field`` is a :data:`~pipeline.models.SUMMARY_FIELDS` name (``tldr``...; a
    ``translation.`` prefix is accepted); issues carry ``field="translation.<field>"``.
    ``source`` is the original (Chinese/Japanese/Korean) text; checks that compare with it are
    skipped when it is None. A ``schema`` failure short-circuits the rest.
    """
    if not _plain(field, text, source):
        return _check_translation(field, text, source)
    return list(_memo_translation(field, text, source))


# The three entry points are pure functions of their (string) arguments; a run checks every
# answer once when it arrives and again in the document's final ``revalidate``, so the answers
# are memoized (issues are never mutated: callers copy them with ``model_copy``).
def _plain(*args: Any) -> bool:
    """True when every argument is a str or None (hashable, and the memoized path applies)."""
    return all(a is None or type(a) is str for a in args)


@lru_cache(maxsize=8192)
def _memo_translation(field: str, text: str | None, source: str | None) -> tuple[ValidationIssue, ...]:
    return tuple(_check_translation(field, text, source))


def _check_translation(field: str, text: Any, source: str | None) -> list[ValidationIssue]:
    path, name = _field_path(field)
    issues = check_schema(path, text)
    if issues:
        return issues
    return (check_language(path, text) + check_residual_cjk(path, text)
            + check_unchanged(path, text, source) + check_numbers_preserved(path, text, source)
            + check_terms_preserved(path, text, source)
            + check_translation_length(path, text, source, name)
            + check_placeholder(path, text, source) + check_repetition(path, text)
            + check_latex_balance(path, text, source))


# --------------------------------------------------------------------------- summary checks

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
        return [_issue(field, "unchanged", "error", f"summary is {what} the whole abstract")]
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
            issues.append(_issue(field, "invented_numbers", "error",
                                 f'number "{token.canonical}"{_written(token)} appears in neither '
                                 "the abstract nor the translation"))
    return issues


def check_summary_length(field: str, text: str) -> list[ValidationIssue]:
    """``length``: error outside 40-600 characters or when the summary stops mid-sentence;
    warning above 3 sentences."""
    length = len(text.strip())
    if not SUMMARY_MIN_CHARS <= length <= SUMMARY_MAX_CHARS:
        return [_issue(field, "length", "error", f"summary is {length} characters; expected "
                       f"{SUMMARY_MIN_CHARS}-{SUMMARY_MAX_CHARS}")]
    dangling = _truncation(text)
    if dangling:
        return [_issue(field, "length", "error", f'text stops mid-sentence after "{dangling}"')]
    count = len(_sentences(text))
    if count > SUMMARY_MAX_SENTENCES:
        return [_issue(field, "length", "warning",
                       f"summary has {count} sentences; expected 1-{SUMMARY_MAX_SENTENCES}")]
    return []


def _translation_texts(translation: Mapping[str, Any] | Any | None) -> list[str]:
    if translation is None:
        return []
    if hasattr(translation, "model_dump"):
        translation = translation.model_dump()
    return [v for v in translation.values() if isinstance(v, str)]


def check_summary(text: str | None, abstract: str,
                  translation: Mapping[str, str | None] | None) -> list[ValidationIssue]:
    """Run every summary check on the English re-summary ``text`` (field ``summary.tldr``).

    ``abstract`` is the paper's English abstract; ``translation`` maps field names to the English
    translations (None values and a pydantic ``Translation`` are accepted). A ``schema``
    failure short-circuits the rest.
    """
    texts = tuple(_translation_texts(translation))
    if not _plain(text, abstract):
        return _check_summary(text, abstract, texts)
    return list(_memo_summary(text, abstract, texts))


@lru_cache(maxsize=4096)
def _memo_summary(text: str | None, abstract: str, texts: tuple[str, ...]) -> tuple[ValidationIssue, ...]:
    return tuple(_check_summary(text, abstract, texts))


def _check_summary(text: Any, abstract: str, texts: tuple[str, ...]) -> list[ValidationIssue]:
    field = SUMMARY_FIELD
    issues = check_schema(field, text)
    if issues:
        return issues
    sources = [abstract or "", *texts]
    return (check_language(field, text) + check_residual_cjk(field, text)
            + check_summary_unchanged(field, text, abstract)
            + check_invented_numbers(field, text, sources) + check_summary_length(field, text)
            + check_placeholder(field, text) + check_repetition(field, text) + check_latex_balance(field, text))


# --------------------------------------------------------------------------- generated fields

def check_generated(field: str, text: str | None, abstract: str) -> list[ValidationIssue]:
    """Run every check on an English field written from the abstract (no usable source field).

    Used when the digest's field is missing or a failure placeholder and the ``generate`` stage
    wrote it from the abstract. Summary-style checks against the abstract: ``schema``,
    ``language``, ``residual_cjk``, ``unchanged`` (the whole abstract copied), ``invented_numbers``
    (every figure must be in the abstract), ``length`` (the translation bounds for the field, and
    no mid-sentence stop; no ratio: there is no source to compare with), ``placeholder`` and
    ``latex_balance``. Issues carry ``field="translation.<field>"``.
    """
    if not _plain(field, text, abstract):
        return _check_generated(field, text, abstract)
    return list(_memo_generated(field, text, abstract))


@lru_cache(maxsize=4096)
def _memo_generated(field: str, text: str | None, abstract: str) -> tuple[ValidationIssue, ...]:
    return tuple(_check_generated(field, text, abstract))


def _check_generated(field: str, text: Any, abstract: str) -> list[ValidationIssue]:
    path, name = _field_path(field)
    issues = check_schema(path, text)
    if issues:
        return issues
    return (check_language(path, text) + check_residual_cjk(path, text)
            + check_summary_unchanged(path, text, abstract)
            + check_invented_numbers(path, text, [abstract or ""])
            + check_translation_length(path, text, None, name)
            + check_placeholder(path, text) + check_repetition(path, text) + check_latex_balance(path, text))
