"""Content checks: does an English field say only what the paper says? (issue 14; issue 11 item 12)

Deterministic, no model: each check compares the English ``text`` of one field with what the
paper offers (the Chinese ``source`` when the field is a translation, the English ``abstract``
and the ``title``) and returns :class:`~pipeline.models.ValidationIssue` objects whose message
quotes the offending words. Every check has the signature
``check_<name>(field, text, source, abstract, title, fewshot) -> list[ValidationIssue]``;
:func:`content_issues` runs them all. Checks that compare with the paper stay quiet when there is
no abstract and no title (nothing to compare with).

======================  =========================================================  ========
check                   fires when                                                 severity
======================  =========================================================  ========
``invented_term``       an acronym, mixed-case name or capitalised (multi-word)    error
                        term ("FOC", "Model Y", "QuantaFormer", "Federal Medical
                        Technology") is in neither the source, the abstract nor
                        the title
``invented_figure``     a figure (digits, or a number word such as "twenty") is   error
                        in neither the source, the abstract nor the title
                        (rounding to the digits written allowed)
``off_context_word``    uncommon nouns (Zipf < 5) that neither the abstract, the   error /
                        title nor the source supports and that are not ordinary    warning
                        research vocabulary ("surgery", "kitchen"): 2+ error, 1    (1)
                        warning
``fewshot_leak``        a word or name distinctive of the prompt's few-shot        error
                        examples ("Model Y", "WeChat", "kitchen") that the paper
                        does not support
``unsupported_claim``   4+ content words of a translation that neither the         error /
                        abstract, the title nor a CC-CEDICT gloss of a source      warning
                        word supports (an added claim); 2-3: warning               (2-3)
``omission``            a translation renders < 50% of the source's content        error
                        words, or drops items of its numbered list
``substituted_term``    one of the paper's terms in the source is not rendered     error
                        and an uncommon unsupported word stands in its place
``preamble``            a role-play or assistant preamble ("Sure!", "As an AI",   error
                        "Here is the summary:", "I hope this helps")
``restated_instruction``  the reply restates an instruction ("Write a poem about   error
                        the sea", "ignore previous instructions") or six words in
                        a row of the prompt's own instructions
``off_topic``           the field shares no content word (stop words aside) with   error
                        the abstract and title
======================  =========================================================  ========

``unsupported_claim``, ``omission`` and ``substituted_term`` need a Chinese source
(:mod:`pipeline.validate.coverage`); the last three are :mod:`pipeline.validate.offtopic`
(issue 11, item 12). For a re-ask,
:func:`pipeline.validate.evidence.evidence_sentences` gives the abstract sentence(s) that cover
the part of the source an issue is about.
"""

from __future__ import annotations

from functools import lru_cache

from pipeline.models import ValidationIssue
from pipeline.validate.bilingual import ROOT, source_roots
from pipeline.validate.coverage import check_omission, check_substituted_term, check_unsupported_claim
from pipeline.validate.numbers import NUMBER_WORDS, approx_matches, extract_number_tokens
from pipeline.validate.offtopic import check_off_topic, check_preamble, check_restated_instruction
from pipeline.validate.terms_en import english_terms, term_supported
from pipeline.validate.vocab import (
    STOP_WORDS,
    Support,
    content_words,
    is_academic,
    support,
    supported,
    word_info,
    words,
)

__all__ = [
    "CONTENT_CHECK_NAMES",
    "content_issues",
    "check_invented_term",
    "check_invented_figure",
    "check_off_context_word",
    "check_fewshot_leak",
    "check_preamble",
    "check_restated_instruction",
    "check_off_topic",
    "off_context_words",
    "fewshot_words",
]

CONTENT_CHECK_NAMES: tuple[str, ...] = (
    "invented_term", "invented_figure", "off_context_word", "fewshot_leak",
    "unsupported_claim", "omission", "substituted_term", "preamble", "restated_instruction", "off_topic",
)

# ---- thresholds of off_context_word (set on the labelled set's tune half and the real English
# digest's 275 fields, see tests/test_faithfulness.py and tests/test_content_checks.py)
OFF_CONTEXT_MAX_ZIPF = 5.0
"""Words at least this frequent in English (Zipf) are ordinary paraphrase, never out of context."""
OFF_CONTEXT_ERROR_WORDS = 2
"""This many distinct unsupported uncommon words in one field make an error; one, a warning
(a single rare word -- "underlines" -- is as often a translator's choice as an intruder)."""


def _issue(field: str, check: str, severity: str, message: str) -> ValidationIssue:
    return ValidationIssue(field=field, check=check, severity=severity, message=message)


def _quote(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(f'"{item}"' for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --------------------------------------------------------------------------- invented_term

def check_invented_term(field: str, text: str, source: str | None, abstract: str | None,
                        title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``invented_term`` (error): each name-like term of ``text`` (see
    :func:`~pipeline.validate.terms_en.english_terms`) that the source, abstract and title do not
    contain (:func:`~pipeline.validate.terms_en.term_supported`). Quiet without abstract and title."""
    evidence = support(source, abstract, title)
    if evidence.empty:
        return []
    glossed = source_roots(source) if source else frozenset()
    missing = list(dict.fromkeys(t.text for t in english_terms(text)
                                 if not term_supported(t, evidence, source, glossed)))
    return [_issue(field, "invented_term", "error",
                   f'term "{term}" is in neither the source, the abstract nor the title')
            for term in missing]


# --------------------------------------------------------------------------- invented_figure

def check_invented_figure(field: str, text: str, source: str | None, abstract: str | None,
                          title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``invented_figure`` (error): a figure of ``text`` written in digits or as a number word
    ("twenty", "ten times") that matches no figure of the source, abstract or title (rounding to
    the digits written allowed, :func:`~pipeline.validate.numbers.approx_matches`). Identifiers
    (``GPT-4o``), list markers and weak words ("one", "first", "half") are not figures."""
    claimed = [t for t in extract_number_tokens(text) if t.origin in ("digits", "word")]
    if not claimed:
        return []
    evidence = support(source, abstract, title)
    if evidence.empty and not source:
        return []
    issues, seen = [], set()
    for token in claimed:
        if token.canonical not in seen and not approx_matches(token, evidence.numbers):
            seen.add(token.canonical)
            written = f' (written "{token.raw}")' if token.raw != token.canonical else ""
            issues.append(_issue(field, "invented_figure", "error",
                                 f'figure "{token.canonical}"{written} is in neither the source, '
                                 "the abstract nor the title"))
    return issues


# --------------------------------------------------------------------------- off_context_word

def _name_words(text: str) -> set[str]:
    """Lower-case words that belong to a name-like term (left to ``invented_term``)."""
    return {w for term in english_terms(text) for w in words(term.text)}


def off_context_words(text: str, evidence: Support, source: str | None = None) -> list[str]:
    """Distinct words of ``text`` (lower case, in order) that are content words, not numbers,
    not ordinary research vocabulary, less frequent than :data:`OFF_CONTEXT_MAX_ZIPF`, not part
    of a name, not supported by ``evidence`` (stem or lemma) and, for a Chinese ``source``, not
    a gloss of one of its words."""
    names = _name_words(text)
    glossed = source_roots(source) if source else frozenset()
    found = []
    for word in dict.fromkeys(content_words(text)):
        if word in names or word in NUMBER_WORDS or supported(word, evidence) or is_academic(word):
            continue  # cheap tests first: most words stop here
        info = word_info(word)
        if (not info.noun_only or info.zipf >= OFF_CONTEXT_MAX_ZIPF
                or {s[:ROOT] for s in info.stems} & glossed):
            continue
        found.append(word)
    return found


def check_off_context_word(field: str, text: str, source: str | None, abstract: str | None,
                           title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``off_context_word``: uncommon words the paper does not support (:func:`off_context_words`).
    Error when there are :data:`OFF_CONTEXT_ERROR_WORDS` or more, else a warning. Quiet without
    abstract and title."""
    evidence = support(source, abstract, title)
    if evidence.empty:
        return []
    found = off_context_words(text, evidence, source)
    if not found:
        return []
    severity = "error" if len(found) >= OFF_CONTEXT_ERROR_WORDS else "warning"
    return [_issue(field, "off_context_word", severity,
                   f"word(s) {_quote(found)} fit neither the abstract nor the title")]


# --------------------------------------------------------------------------- fewshot_leak

@lru_cache(maxsize=64)
def fewshot_words(fewshot: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """(distinctive lower-case words, names) of a prompt's few-shot text: its content words that
    are not ordinary research vocabulary, and its name-like terms ("Model Y", "WeChat", "G7")."""
    distinctive = frozenset(w for w in content_words(fewshot)
                            if not word_info(w).academic and not word_info(w).number)
    names = tuple(dict.fromkeys(t.text for t in english_terms(fewshot)))
    return distinctive, names


def check_fewshot_leak(field: str, text: str, source: str | None, abstract: str | None,
                       title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``fewshot_leak`` (error): names and distinctive words of the active prompt's few-shot
    examples (``fewshot``: the prompt's text, see :func:`fewshot_words`) that occur in ``text``
    but not in the source, abstract or title. Quiet when ``fewshot`` is None."""
    if not fewshot:
        return []
    distinctive, names = fewshot_words(fewshot)
    evidence = support(source, abstract, title)
    present_names = [n for n in names if _has_name(text, n) and not _has_name_in(evidence, n)]
    glossed = source_roots(source) if source else frozenset()
    leaked = [w for w in dict.fromkeys(content_words(text))
              if w in distinctive and w not in STOP_WORDS and not supported(w, evidence)
              and not {s[:ROOT] for s in word_info(w).stems} & glossed]
    named = {w for n in present_names for w in words(n)}
    found = list(dict.fromkeys(present_names + [w for w in leaked if w not in named]))
    if not found:
        return []
    return [_issue(field, "fewshot_leak", "error",
                   f"{_quote(found)} come(s) from the prompt's examples, not from the paper")]


def _has_name(text: str, name: str) -> bool:
    return any(t.text == name or name in t.parts for t in english_terms(text)) or \
        (" " in name and name in text)


def _has_name_in(evidence: Support, name: str) -> bool:
    from pipeline.validate.vocab import squash
    return squash(name) in evidence.squashed if len(squash(name)) >= 3 else name.lower() in evidence.words


# --------------------------------------------------------------------------- entry point

_CHECKS = (check_invented_term, check_invented_figure, check_off_context_word, check_fewshot_leak,
           check_unsupported_claim, check_omission, check_substituted_term, check_preamble, check_restated_instruction,
           check_off_topic)


def content_issues(field: str, text: str | None, *, source: str | None, abstract: str | None,
                   title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """Every content check (:data:`CONTENT_CHECK_NAMES`, in that order) on one English field.

    ``field`` is the issue's field path (``translation.tldr``, ``summary.tldr``); ``text`` the
    English (None or blank: no issue, the ``schema`` check reports that); ``source`` the
    original field (None for a re-summary or a field generated from the abstract); ``fewshot``
    the active prompt's text (its examples and instructions, see
    :func:`pipeline.validate.offtopic.prompt_text`) or None. Pure and cached.
    """
    if not isinstance(text, str) or not text.strip():
        return []
    return list(_memo(field, text, source, abstract, title, fewshot))


@lru_cache(maxsize=1024)
def _memo(field: str, text: str, source: str | None, abstract: str | None, title: str | None,
          fewshot: str | None) -> tuple[ValidationIssue, ...]:
    return tuple(issue for check in _CHECKS
                 for issue in check(field, text, source, abstract, title, fewshot))
