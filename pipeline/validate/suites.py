"""Which checks apply to which kind of text, declared once, and the functions that run them.

Three kinds of English text are checked (:data:`SUITES`, a name -> check table per kind, in the
order the issues are reported):

- ``translation``: a translated summary field, against its Chinese source;
- ``generated``: a field written from the abstract because the digest's was missing or failed;
- ``summary``: the re-summary, against the abstract and the translation.

Every kind starts with ``schema`` (None, not a string, blank), which short-circuits the rest.
:data:`CHECK_NAMES` and the per-kind name lists are derived from the table, so they cannot drift
from what runs. The entry points :func:`check_translation`, :func:`check_generated` and
:func:`check_summary` are pure functions of their string arguments and are memoized: a run checks
every answer when it arrives and again in the document's final ``revalidate``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipeline.lang import without_math
from pipeline.models import ValidationIssue
from pipeline.validate.checks import (
    SUMMARY_FIELD,
    check_language,
    check_latex_balance,
    check_placeholder,
    check_repetition,
    check_residual_cjk,
    check_schema,
)
from pipeline.validate.content import check_invented_figure, check_invented_term, check_off_context_word
from pipeline.validate.coverage import check_omission, check_substituted_term, check_unsupported_claim
from pipeline.validate.offtopic import check_off_topic, check_preamble, check_restated_instruction
from pipeline.validate.fidelity import (
    check_invented_numbers,
    check_numbers_preserved,
    check_summary_length,
    check_summary_unchanged,
    check_terms_preserved,
    check_translation_length,
    check_unchanged,
)


@dataclass(frozen=True)
class Subject:
    """What a check looks at: the output ``path`` (``translation.tldr``, ``summary.tldr``), the
    field ``name`` (``tldr``...), the English ``text``, the ``source`` it was translated from (None
    when there is none), the paper's ``abstract`` and ``title``, and ``sources``: the texts whose
    figures the text may use (the abstract, plus the translation for the re-summary)."""

    path: str
    name: str
    text: str
    source: str | None
    abstract: str
    sources: tuple[str, ...]
    title: str = ""


#: Checks every kind of English text gets: is it about the paper at all (hardening item 12).
_ON_TASK: tuple[tuple[str, "Check"], ...] = (
    ("preamble", lambda s: check_preamble(s.path, s.text, s.source, s.abstract, s.title)),
    ("restated_instruction", lambda s: check_restated_instruction(s.path, s.text, s.source, s.abstract, s.title)),
    ("off_topic", lambda s: check_off_topic(s.path, s.text, s.source, s.abstract, s.title)),
)


def _given(s: Subject) -> str | None:
    """What the text was made from besides the abstract and title: the Chinese source of a
    translation; for a re-summary, the English translations it may draw on."""
    return s.source if s.source is not None else ("\n".join(s.sources[1:]) or None)


#: Does the English say only what the paper says (issue 14, :mod:`pipeline.validate.content`):
#: names and uncommon words out of the paper's context, read in the prose (LaTeX math aside).
#: Every kind of English text.
_FAITHFUL: tuple[tuple[str, "Check"], ...] = (
    ("invented_term", lambda s: check_invented_term(s.path, without_math(s.text), _given(s), s.abstract, s.title)),
    ("off_context_word", lambda s: check_off_context_word(s.path, without_math(s.text), _given(s), s.abstract,
                                                          s.title)),
)
#: A translation against its Chinese source as well (:mod:`pipeline.validate.coverage`).
_FAITHFUL_TO_SOURCE: tuple[tuple[str, "Check"], ...] = (
    ("invented_figure", lambda s: check_invented_figure(s.path, s.text, s.source, s.abstract, s.title)),
    ("unsupported_claim", lambda s: check_unsupported_claim(s.path, without_math(s.text), s.source, s.abstract,
                                                            s.title)),
    ("omission", lambda s: check_omission(s.path, without_math(s.text), s.source, s.abstract, s.title)),
    ("substituted_term", lambda s: check_substituted_term(s.path, without_math(s.text), s.source, s.abstract,
                                                          s.title)),
)

Check = Callable[[Subject], list[ValidationIssue]]

SUITES: dict[str, tuple[tuple[str, Check], ...]] = {
    "translation": (
        ("language", lambda s: check_language(s.path, s.text)),
        ("residual_cjk", lambda s: check_residual_cjk(s.path, s.text)),
        ("unchanged", lambda s: check_unchanged(s.path, s.text, s.source)),
        ("numbers_preserved", lambda s: check_numbers_preserved(s.path, s.text, s.source)),
        ("terms_preserved", lambda s: check_terms_preserved(s.path, s.text, s.source)),
        ("length", lambda s: check_translation_length(s.path, s.text, s.source, s.name)),
        ("placeholder", lambda s: check_placeholder(s.path, s.text, s.source)),
        ("repetition", lambda s: check_repetition(s.path, s.text)),
        ("latex_balance", lambda s: check_latex_balance(s.path, s.text, s.source)),
        *_ON_TASK,
        *_FAITHFUL,
        *_FAITHFUL_TO_SOURCE,
    ),
    "generated": (
        ("language", lambda s: check_language(s.path, s.text)),
        ("residual_cjk", lambda s: check_residual_cjk(s.path, s.text)),
        ("unchanged", lambda s: check_summary_unchanged(s.path, s.text, s.abstract)),
        ("invented_numbers", lambda s: check_invented_numbers(s.path, s.text, list(s.sources))),
        ("length", lambda s: check_translation_length(s.path, s.text, None, s.name)),
        ("placeholder", lambda s: check_placeholder(s.path, s.text)),
        ("repetition", lambda s: check_repetition(s.path, s.text)),
        ("latex_balance", lambda s: check_latex_balance(s.path, s.text)),
        *_ON_TASK,
        *_FAITHFUL,
    ),
    "summary": (
        ("language", lambda s: check_language(s.path, s.text)),
        ("residual_cjk", lambda s: check_residual_cjk(s.path, s.text)),
        ("unchanged", lambda s: check_summary_unchanged(s.path, s.text, s.abstract)),
        ("invented_numbers", lambda s: check_invented_numbers(s.path, s.text, list(s.sources))),
        ("length", lambda s: check_summary_length(s.path, s.text)),
        ("placeholder", lambda s: check_placeholder(s.path, s.text)),
        ("repetition", lambda s: check_repetition(s.path, s.text)),
        ("latex_balance", lambda s: check_latex_balance(s.path, s.text)),
        *_ON_TASK,
        *_FAITHFUL,
    ),
}
"""Per kind of text, ``(check name, function)`` in report order; ``schema`` runs first in every kind."""


def _names(kind: str) -> tuple[str, ...]:
    return ("schema", *(name for name, _ in SUITES[kind]))


TRANSLATION_CHECKS: tuple[str, ...] = _names("translation")
GENERATED_CHECKS: tuple[str, ...] = _names("generated")
SUMMARY_CHECKS: tuple[str, ...] = _names("summary")
CHECK_NAMES: tuple[str, ...] = tuple(dict.fromkeys(TRANSLATION_CHECKS + SUMMARY_CHECKS + GENERATED_CHECKS))
"""Every deterministic check's stable name (issues of other names, such as ``source_missing``
or ``provider``, come from the pipeline and are not recomputed by ``validate``)."""


def run_suite(kind: str, subject: Subject | None, path: str, text: Any) -> list[ValidationIssue]:
    """The issues of ``text`` under the checks of ``kind``: ``schema`` first (short-circuits),
    then every check of :data:`SUITES` ``[kind]`` in order on ``subject``."""
    issues = check_schema(path, text)
    if issues or subject is None:
        return issues
    return [issue for _, check in SUITES[kind] for issue in check(subject)]


def _field_path(field: str) -> tuple[str, str]:
    name = field.split(".", 1)[1] if field.startswith("translation.") else field
    return f"translation.{name}", name


def _plain(*args: Any) -> bool:
    """True when every argument is a str or None (hashable, and the memoized path applies)."""
    return all(a is None or type(a) is str for a in args)


def check_translation(field: str, text: str | None, source: str | None, *, abstract: str = "",
                      title: str = "") -> list[ValidationIssue]:
    """Every ``translation`` check on the English ``text`` of source field ``field``.

    ``field`` is a :data:`~pipeline.models.SUMMARY_FIELDS` name (``tldr``...; a ``translation.``
    prefix is accepted); issues carry ``field="translation.<field>"``. ``source`` is the original
    (Chinese/Japanese/Korean) text; checks that compare with it are skipped when it is None. The
    paper's ``abstract`` and ``title`` tell whether the text is about the paper at all.
    """
    if not _plain(field, text, source, abstract, title):
        return _check_translation(field, text, source, abstract, title)
    return list(_memo_translation(field, text, source, abstract, title))


@lru_cache(maxsize=1024)
def _memo_translation(field: str, text: str | None, source: str | None, abstract: str,
                      title: str) -> tuple[ValidationIssue, ...]:
    return tuple(_check_translation(field, text, source, abstract, title))


def _check_translation(field: str, text: Any, source: str | None, abstract: str, title: str) -> list[ValidationIssue]:
    path, name = _field_path(field)
    subject = Subject(path, name, text, source, abstract or "", (), title or "") if isinstance(text, str) else None
    return run_suite("translation", subject, path, text)


def check_generated(field: str, text: str | None, abstract: str, *, title: str = "") -> list[ValidationIssue]:
    """Every ``generated`` check on an English field written from the abstract (no usable source
    field): facts and figures only from the abstract, the translation length bounds of the field
    (no ratio: there is no source), no copy of the whole abstract. Issues carry
    ``field="translation.<field>"``."""
    if not _plain(field, text, abstract, title):
        return _check_generated(field, text, abstract, title)
    return list(_memo_generated(field, text, abstract, title))


@lru_cache(maxsize=1024)
def _memo_generated(field: str, text: str | None, abstract: str, title: str) -> tuple[ValidationIssue, ...]:
    return tuple(_check_generated(field, text, abstract, title))


def _check_generated(field: str, text: Any, abstract: str, title: str) -> list[ValidationIssue]:
    path, name = _field_path(field)
    subject = Subject(path, name, text, None, abstract or "", (abstract or "",), title or "") \
        if isinstance(text, str) else None
    return run_suite("generated", subject, path, text)


def _translation_texts(translation: Mapping[str, Any] | Any | None) -> tuple[str, ...]:
    if translation is None:
        return ()
    if hasattr(translation, "model_dump"):
        translation = translation.model_dump()
    return tuple(v for v in translation.values() if isinstance(v, str))


def check_summary(text: str | None, abstract: str, translation: Mapping[str, str | None] | Any | None, *,
                  title: str = "") -> list[ValidationIssue]:
    """Every ``summary`` check on the English re-summary ``text`` (field ``summary.tldr``).

    ``abstract`` is the paper's English abstract; ``translation`` maps field names to the English
    translations (None values and a pydantic ``Translation`` are accepted).
    """
    texts = _translation_texts(translation)
    if not _plain(text, abstract, title):
        return _check_summary(text, abstract, texts, title)
    return list(_memo_summary(text, abstract, texts, title))


@lru_cache(maxsize=1024)
def _memo_summary(text: str | None, abstract: str, texts: tuple[str, ...], title: str) -> tuple[ValidationIssue, ...]:
    return tuple(_check_summary(text, abstract, texts, title))


def _check_summary(text: Any, abstract: str, texts: tuple[str, ...], title: str) -> list[ValidationIssue]:
    subject = Subject(SUMMARY_FIELD, "tldr", text, None, abstract or "", (abstract or "", *texts), title or "") \
        if isinstance(text, str) else None
    return run_suite("summary", subject, SUMMARY_FIELD, text)


__all__ = ["CHECK_NAMES", "GENERATED_CHECKS", "SUITES", "SUMMARY_CHECKS", "SUMMARY_FIELD", "Subject",
           "TRANSLATION_CHECKS", "check_generated", "check_summary", "check_translation", "run_suite"]
