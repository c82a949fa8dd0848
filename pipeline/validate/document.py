"""Validation of a whole paper document, with no model call.

:func:`revalidate` recomputes a written paper's ``validation`` block from the document alone.
The run builds its final block through the same function (``pipeline.paper_job``), so a run and
a later ``digest-pipeline validate`` agree exactly, and ``revalidate`` is idempotent.

What is recomputed and what is carried over, by each text's typed origin
(``provenance.origins``, :data:`pipeline.models.FieldOrigin`):

- a ``translated`` (or ``unusable``) field: the ``translation`` checks against
  ``source[<field>].text`` (a ``schema`` issue of an ``unusable`` field quotes its translate note,
  which says why no model reply was usable); a ``copied`` field (its source was English) is not
  checked;
- a ``generated`` field (written from the abstract), or any text where the source is
  ``missing``/``source_failed``: the ``generated`` checks;
- ``summary.tldr``: the ``summary`` checks against the abstract and the translation;
- a field left null because its answer failed a check (no honest English): the same checks on
  the rejected answer, which the validation block keeps (``rejected``, by output path); if none
  of them is an error any more, a ``schema`` error says the field is still empty;
- carried over because the document cannot show them again: issues whose check is not one of
  the deterministic :data:`~pipeline.validate.suites.CHECK_NAMES` (``source_missing``,
  ``source_failed``, ``provider``...), and the issues of a generated field rejected by a run of
  schema 1.1 (its text was not kept); ``attempts``, ``first_attempt_failures`` and ``rejected``.

A ``skipped`` document (not processed) is returned unchanged.

Status: ``failed`` if any error remains; else ``repaired`` if any field took more than one
answer, a field was generated from the abstract, or the TL;DR fell back to the abstract; else ``ok``.

Documents written before the typed contracts (schema 1.1) are read through
:func:`upgrade_document`, which derives origins and the skip reason from their notes and issues once.
"""

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pipeline.models import SUMMARY_FIELDS, FieldOrigin, PaperDocument, Validation, ValidationIssue
from pipeline.validate.suites import (
    CHECK_NAMES,
    SUMMARY_FIELD,
    check_generated,
    check_summary,
    check_translation,
)

STATUSES: tuple[str, ...] = ("ok", "repaired", "failed")
SKIPPED = "skipped"
"""Status of a paper the run did not process (``skip_reason`` says why); counted only when present."""
NOT_SELECTED = "not_selected"
"""Skip reason (and ``check`` of the one issue) of a ``skipped`` entry of ``digest.json`` for a
paper that a ``--limit`` / ``--ids`` run left out and no run has processed. Such entries account
for the paper but are not counted in a run summary (its ``not_selected`` says how many there are)."""


def not_selected(validation: Validation) -> bool:
    """True for the validation of a paper no run has selected (:data:`NOT_SELECTED`)."""
    return validation.status == SKIPPED and validation.skip_reason == NOT_SELECTED


def has_paper_file(validation: Validation) -> bool:
    """True when a ``digest.json`` entry with this validation should have a ``papers/<id>.json``
    beside it: a paper some run processed or skipped for budget / provider, not one no run
    selected (:data:`NOT_SELECTED`) or a run stopped before it (``stopped``)."""
    return not not_selected(validation) and validation.skip_reason != "stopped"


def _notes(document: PaperDocument, stage: str) -> dict[str, str]:
    prov = document.provenance.stages.get(stage)
    return prov.notes if prov is not None else {}


def origin_of(document: PaperDocument, path: str) -> FieldOrigin | None:
    """The typed origin of the text at ``path`` (``translation.tldr``, ``summary.tldr``), if recorded."""
    return document.provenance.origins.get(path)


def generated_fields(document: PaperDocument) -> set[str]:
    """Fields the ``generate`` stage wrote (or tried to write) from the abstract."""
    return {path.split(".", 1)[1] for path, origin in document.provenance.origins.items()
            if origin == "generated" and path.startswith("translation.")}


def _is_recomputed(issue: ValidationIssue, carried_fields: set[str]) -> bool:
    """True for an issue :func:`revalidate` computes again from the document."""
    return issue.check in CHECK_NAMES and issue.field not in carried_fields


def _checked_text(document: PaperDocument, path: str, text: str | None) -> tuple[str | None, bool]:
    """The text to check at ``path`` and whether it is a rejected answer (the field is null and
    :attr:`Validation.rejected` keeps what the model wrote)."""
    if text is None and path in document.validation.rejected:
        return document.validation.rejected[path], True
    return text, False


def _rejected(path: str, issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """The issues of a rejected answer, with an error saying the field is empty if none is left
    (a check relaxed since: the answer stays rejected until the paper is run again)."""
    if any(i.severity == "error" for i in issues):
        return issues
    return [*issues, ValidationIssue(field=path, check="schema", severity="error", message=(
        "no English text: the answer was rejected by an earlier check; run the paper again to ask anew"))]


def _field_issues(document: PaperDocument, name: str, generated: set[str],
                  unfinished: bool) -> list[ValidationIssue]:
    path = f"translation.{name}"
    text, rejected = _checked_text(document, path, getattr(document.translation, name))
    source = document.source.get(name)
    origin = origin_of(document, path)
    if origin == "copied":
        return []
    if name in generated or (source is not None and source.status != "ok"):
        if text is None:  # rejected generated text of an earlier schema (its issues are carried), or none
            return []
        issues = check_generated(name, text, document.abstract, title=document.title)
    elif text is None and unfinished:
        return []  # the pipeline stopped before this field (a paper-level error says why)
    else:
        issues = check_translation(name, text, source.text if source is not None else None,
                                   abstract=document.abstract, title=document.title)
    if origin == "unusable":
        note = _notes(document, "translate").get(name, "no usable model reply")
        issues = [i.model_copy(update={"message": f"{i.message}: {note}"}) if i.check == "schema" else i
                  for i in issues]
    return _rejected(path, issues) if rejected else issues


def _summary_issues(document: PaperDocument, unfinished: bool) -> list[ValidationIssue]:
    text, rejected = _checked_text(document, SUMMARY_FIELD, document.summary.tldr)
    if unfinished and text is None:
        return []
    issues = check_summary(text, document.abstract, document.translation, title=document.title)
    return _rejected(SUMMARY_FIELD, issues) if rejected else issues


def revalidate(document: PaperDocument) -> Validation:
    """The ``validation`` block of ``document`` recomputed with no model call (module docstring)."""
    old = document.validation
    if old.status == "skipped":  # never processed (budget reached, provider down...): nothing to check
        return old.model_copy(deep=True)
    generated = generated_fields(document)
    # generated fields rejected by an earlier schema keep their issues: the text is not in the document
    legacy_rejected = {f"translation.{name}" for name in generated
                       if getattr(document.translation, name) is None and f"translation.{name}" not in old.rejected}
    carried = [i for i in old.issues if not _is_recomputed(i, legacy_rejected)]
    unfinished = any(i.field == "paper" and i.severity == "error" for i in carried)
    field_paths = {f"translation.{name}" for name in SUMMARY_FIELDS} | {SUMMARY_FIELD}
    issues = [i for i in carried if i.field not in field_paths]
    for name in SUMMARY_FIELDS:
        path = f"translation.{name}"
        kept = [i for i in carried if i.field == path]
        if path in legacy_rejected and not any(i.severity == "error" for i in kept):
            kept.append(ValidationIssue(field=path, check="schema", severity="error",
                                        message="no English text: every text generated from the "
                                                "abstract failed validation"))
        issues += kept + _field_issues(document, name, generated, unfinished)
    issues += [i for i in carried if i.field == SUMMARY_FIELD]
    issues += _summary_issues(document, unfinished)
    return Validation(status=status_of(document, issues), issues=issues, attempts=dict(old.attempts),
                      first_attempt_failures=dict(old.first_attempt_failures), rejected=dict(old.rejected))


def status_of(document: PaperDocument, issues: list[ValidationIssue]) -> str:
    """``failed`` / ``repaired`` / ``ok`` (see the module docstring)."""
    if any(i.severity == "error" for i in issues):
        return "failed"
    if any(n > 1 for n in document.validation.attempts.values()):
        return "repaired"
    if generated_fields(document):
        return "repaired"
    if origin_of(document, SUMMARY_FIELD) == "fallback":
        return "repaired"
    return "ok"


def error_counts(issues: Iterable[ValidationIssue]) -> dict[str, int]:
    """Error issues per check, sorted by check name."""
    return dict(sorted(Counter(i.check for i in issues if i.severity == "error").items()))


# --------------------------------------------------------------------------- run-level counts

def status_counts(validations: Iterable[Validation]) -> dict[str, int]:
    """Papers per status (every status present, zero included; ``skipped`` only when present)."""
    counts = Counter(v.status for v in validations)
    found = {s: counts.get(s, 0) for s in STATUSES}
    if counts.get(SKIPPED):
        found[SKIPPED] = counts[SKIPPED]
    return found


def failures_per_check(validations: Iterable[Validation], severity: str = "error") -> dict[str, int]:
    """Issues of ``severity`` per check over all papers, sorted by check name."""
    counts = Counter(i.check for v in validations for i in v.issues if i.severity == severity)
    return dict(sorted(counts.items()))


def summary_counts(validations: list[Validation]) -> dict[str, Any]:
    """The run-summary counts of ``validations``: ``status_counts``, ``failures_per_check`` and
    ``failures_per_check_first_attempt`` over the papers processed, and ``not_selected``: how
    many entries no run selected (listed in ``digest.json``, not counted)."""
    counted = [v for v in validations if not not_selected(v)]
    return {"status_counts": status_counts(counted), "failures_per_check": failures_per_check(counted),
            "failures_per_check_first_attempt": first_attempt_failures(counted),
            "not_selected": len(validations) - len(counted)}


def first_attempt_failures(validations: Iterable[Validation]) -> dict[str, int]:
    """Error issues per check on the first answer of every field, before any re-ask."""
    total: Counter[str] = Counter()
    for v in validations:
        total.update(v.first_attempt_failures)
    return dict(sorted((k, n) for k, n in total.items() if n))
