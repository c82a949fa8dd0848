"""Stage ``generate``: an English summary field written from the abstract.

Used for a field whose digest source is ``missing`` or ``source_failed`` (a failure placeholder,
refusal or unfilled template), so the reader still gets all five fields; with
``validation.fill_failed_from_abstract`` (off by default), also for a field whose translation
still failed after its re-asks (status ``translation_failed``: the rejected translation stays in
``validation.rejected``, the field's text and origin become the generated ones). The output is checked
as generated text (:func:`pipeline.validate.suites.check_generated`: facts and figures only from
the abstract) and re-asked like any other field; rejected generated text is never kept (the field
stays None, its errors are listed, and the source warning says so). Origin ``generated``.

Prompt variables: ``field`` (``tldr``...), ``field_label`` (``TL;DR``...), ``field_hint`` (what
the field should say), ``title``, ``abstract``, ``previous`` and ``problems`` (both empty on the
first answer; on a re-ask the failed output and the failing checks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.models import FIELD_TITLES, SUMMARY_FIELDS, ValidationIssue
from pipeline.stages.base import FieldOutcome, ModelStage, Unit
from pipeline.validate.suites import check_generated

if TYPE_CHECKING:
    from pipeline.stages.job import PaperJob, RunContext

GENERATED_PREFIX = "generated from the abstract"

#: What each field should say, for the prompt.
FIELD_HINTS: dict[str, str] = {
    "tldr": "one sentence: what the paper does and its main finding",
    "motivation": "one or two sentences: the problem or gap that motivates the paper",
    "method": "one or two sentences: how the proposed approach works",
    "result": "one or two sentences: the main results, with figures only as written in the abstract",
    "conclusion": "one sentence: what the authors conclude",
}


def provenance_note(status: str) -> str:
    """The ``provenance.stages["generate"].notes[field]`` text of a generated field (``status``:
    the source field's, or ``translation_failed``)."""
    if status == "translation_failed":
        return f"{GENERATED_PREFIX}: the translation failed validation after its re-asks"
    return f"{GENERATED_PREFIX}: source {status}"


class Generate(ModelStage):
    """The ``generate`` stage (module docstring)."""

    name = "generate"
    version = "1"
    variables = frozenset({"field", "field_label", "field_hint", "title", "abstract", "previous", "problems"})
    text_kind = "generated"
    optional = True
    description = "a missing or failed summary field written from the abstract"

    def begin(self, ctx: RunContext, job: PaperJob) -> None:
        if ctx.fill_failed:
            job.failed_translations = {name for name in SUMMARY_FIELDS if job.source[name].status == "ok"
                                       and job.texts.get(name) is None and f"translation.{name}" in job.rejected}

    def units(self, job: PaperJob) -> list[Unit]:
        if not job.paper.abstract.strip():
            return []
        return [Unit(name, f"translation.{name}", status=job.source[name].status)
                for name in SUMMARY_FIELDS if job.source[name].status != "ok"] + \
            [Unit(name, f"translation.{name}", status="translation_failed")
             for name in SUMMARY_FIELDS if name in job.failed_translations]

    def variables_for(self, job: PaperJob, unit: Unit, segment: str) -> dict[str, Any]:
        return {"field": unit.key, "field_label": FIELD_TITLES.get(unit.key, unit.key),
                "field_hint": FIELD_HINTS.get(unit.key, unit.key), "title": job.paper.title,
                "abstract": job.paper.abstract, "previous": "", "problems": ""}

    def check(self, job: PaperJob, unit: Unit, text: str) -> list[ValidationIssue]:
        return check_generated(unit.key, text, job.paper.abstract, title=job.paper.title)

    def finish(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> FieldOutcome:
        outcome.note = provenance_note(unit.status)
        if outcome.errors:  # the field is left empty (run_field rejects a failing answer)
            outcome.note += f"; rejected after {outcome.attempts} attempt(s): failed validation, left empty"
        return outcome

    def accept(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> None:
        job.texts[unit.key] = outcome.text
        job.issues += outcome.issues
        suffix = ("written from the abstract instead" if outcome.text is not None else
                  "the text written from the abstract failed validation, left empty")
        job.issues = [i.model_copy(update={"message": f"{i.message}; {suffix}"})
                      if i.field == unit.path and i.check in ("source_missing", "source_failed") else i
                      for i in job.issues]


STAGE = Generate()
