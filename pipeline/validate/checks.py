"""Deterministic checks for translated fields and the English re-summary (no model calls).

This module holds the checks of the text alone and the thresholds of all checks;
:mod:`pipeline.validate.fidelity` the checks that compare the text with its source or the abstract;
:mod:`pipeline.validate.suites` declares which checks apply to each kind of text (a translated
field, a field written from the abstract, the re-summary) and runs them. Each check has a stable
name (:data:`pipeline.validate.suites.CHECK_NAMES`) and its own small function ``check_<name>``
returning a list of :class:`~pipeline.models.ValidationIssue` (empty = passed); ``error`` means
the output is wrong and should be re-asked, ``warning`` means a doubtful signal a reader may
want to see.

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

Every kind of text is also checked for being about the paper (``preamble``,
``restated_instruction``, ``off_topic``: :mod:`pipeline.validate.offtopic`) and for saying only
what the paper says (``invented_term``, ``off_context_word``; a translation also
``invented_figure``, ``unsupported_claim``, ``omission``, ``substituted_term``:
:mod:`pipeline.validate.content`, :mod:`pipeline.validate.coverage`, issue 14). Which check runs
on which kind is declared once, in :data:`pipeline.validate.suites.SUITES`.

The length ratio compares the translation with the English length expected from the source:
4.2 characters per CJK ideograph, 1.2 per kana, 2.2 per hangul syllable, 1 per other
non-space character (calibrated on hand translations of seed-digest fields, where faithful
English falls at 0.85-1.2 of it).
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.lang import cjk_share, detect_language
from pipeline.models import ValidationIssue
from pipeline.validate.latex import latex_errors, latex_warnings
from pipeline.validate.patterns import find_placeholders, source_failure

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

_CJK_RUN = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                      "\U00020000-\U0002fa1f\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+")
_FULLWIDTH_PUNCT = re.compile("[，。：；！？（）【】、「」『』《》]")
SPACE = re.compile(r"\s+")
_DANGLING = re.compile(
    r"(?:\b(?:the|a|an|that|which|who|whose|of|and|or|but|to|with|for|by|from|as|is|are|was|"
    r"were|its|their|our|than|into|via|while|whereas|between|such|this|these)|[,;:(\-–—/\\]|\.\.\.|…)"
    r"\s*$",
    re.IGNORECASE,
)


def make_issue(field: str, check: str, severity: str, message: str) -> ValidationIssue:
    """One :class:`ValidationIssue` (``field`` is the output path, e.g. ``translation.tldr``)."""
    return ValidationIssue(field=field, check=check, severity=severity, message=message)


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.095 else f"{share:.1%}"


# --------------------------------------------------------------------------- shared checks

def check_schema(field: str, text: Any) -> list[ValidationIssue]:
    """``schema``: error when ``text`` is None, not a string, or blank."""
    if text is None:
        return [make_issue(field, "schema", "error", "text is missing (None)")]
    if not isinstance(text, str):
        return [make_issue(field, "schema", "error", f"text is {type(text).__name__}, expected a string")]
    if not text.strip():
        return [make_issue(field, "schema", "error", "text is empty")]
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
        return [make_issue(field, "language", "warning",
                       f"text is only weakly detected as English (probability {guess.probability:.2f})")]
    severity = "error" if guess.probability >= LANGUAGE_ERROR_PROBABILITY else "warning"
    return [make_issue(field, "language", severity,
                   f"text is detected as {guess.language} (probability {guess.probability:.2f}), "
                   "expected English")]


def check_residual_cjk(field: str, text: str) -> list[ValidationIssue]:
    """``residual_cjk``: error when CJK characters are >= 2% of non-space characters; warning
    for fewer CJK characters or for full-width CJK punctuation."""
    share = cjk_share(text)
    runs = _CJK_RUN.findall(text)
    if share >= RESIDUAL_CJK_ERROR_SHARE:
        return [make_issue(field, "residual_cjk", "error",
                       f'{_pct(share)} of characters are CJK (e.g. "{max(runs, key=len, default="")[:20]}")')]
    if runs:
        count = sum(map(len, runs))
        return [make_issue(field, "residual_cjk", "warning",
                       f'{count} CJK character(s) remain ("{"".join(runs)[:20]}")')]
    punct = _FULLWIDTH_PUNCT.findall(text)
    if punct:
        return [make_issue(field, "residual_cjk", "warning",
                       f'full-width CJK punctuation remains ("{"".join(dict.fromkeys(punct))}")')]
    return []


def check_placeholder(field: str, text: str, source: str | None = None) -> list[ValidationIssue]:
    """``placeholder`` (error): failure/refusal/preamble/label/template/marker text in ``text``
    (see :mod:`pipeline.validate.patterns`), or a ``source`` that is itself a failure sentinel."""
    issues = [make_issue(field, "placeholder", "error", f'contains {kind} "{match[:60]}"')
              for kind, match in find_placeholders(text)]
    failed = source_failure(source)
    if failed:
        issues.append(make_issue(field, "placeholder", "error",
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


REPEATED_SENTENCE_WORDS = 6
"""A sentence of at least this many words written twice in one text is a loop (a model that
restates "The results show that ..." word for word); shorter ones ("We release the code.") may
recur in ordinary text."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _repeated_sentence(text: str) -> tuple[str, int] | None:
    """The first sentence of :data:`REPEATED_SENTENCE_WORDS`+ words that occurs more than once
    (words compared case-blind, separators ignored), as (the sentence, times); else None."""
    seen: dict[tuple[str, ...], int] = {}
    for sentence in _SENTENCE_END.split(text):
        key = tuple(_WORD.findall(sentence.lower()))
        if len(key) >= REPEATED_SENTENCE_WORDS:
            seen[key] = seen.get(key, 0) + 1
    repeated = next((key for key, times in seen.items() if times > 1), None)
    return None if repeated is None else (" ".join(repeated), seen[repeated])


def check_repetition(field: str, text: str) -> list[ValidationIssue]:
    """``repetition`` (error): the text loops: a word repeated :data:`REPEATED_WORD_RUN`+ times
    in a row (``similarity-as-as-as-as``) or a 2-6 word phrase 3+ times; a unit of numbers or
    single characters :data:`REPEATED_SHORT_RUN`+ times (``1. 1. 1. 1. 1. 1. 1. 1.``); or a
    sentence of :data:`REPEATED_SENTENCE_WORDS`+ words written twice (found on the sample:
    SmolLM2 restating one sentence three times in a field written from the abstract)."""
    found = _repeated_run(text)
    if found is not None:
        unit, times = found
        return [make_issue(field, "repetition", "error", f'"{unit}" repeated {times} times in a row (the model looped)')]
    found = _repeated_sentence(text)
    if found is not None:
        sentence, times = found
        shown = sentence if len(sentence) <= 80 else sentence[:77] + "..."
        return [make_issue(field, "repetition", "error", f'the sentence "{shown}" is written {times} times (the model looped)')]
    return []


def _may_hold_latex(text: str) -> bool:
    return any(c in text for c in "$\\{}\x08\x0c")


def check_latex_balance(field: str, text: str, source: str | None = None) -> list[ValidationIssue]:
    """``latex_balance``: errors from :func:`~pipeline.validate.latex.latex_errors`, warnings from
    :func:`~pipeline.validate.latex.latex_warnings` (source commands only for translations)."""
    if not _may_hold_latex(text) and not (source and "\\" in source):
        return []
    return ([make_issue(field, "latex_balance", "error", m) for m in latex_errors(text)]
            + [make_issue(field, "latex_balance", "warning", m) for m in latex_warnings(text, source)])


def dangling_end(text: str) -> str | None:
    """The word or mark a text ends on when it stops mid-sentence (``"that"``, ``","``), else None."""
    m = _DANGLING.search(text.rstrip()[-16:])
    return m.group().strip() if m else None
