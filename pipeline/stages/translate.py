"""Stage ``translate``: each non-English source field to English, through the stage's prompt.

With ``split: sentences`` a long field is cut at Chinese sentence ends (。！？；) and each
sentence is translated (and cached) on its own on the first answer, which small models handle far
better than a paragraph; the English sentences are joined with spaces. A re-ask sends the whole
field with the failed answer and the failing checks. A field already in English is copied (origin
``copied``, no call). A field whose kept answer could not be read at all (empty, broken JSON, cut at
``max_tokens``) has origin ``unusable`` and a provenance note saying why.

Prompt variables: ``field`` (``tldr``...), ``field_label`` (``TL;DR``...), ``source`` (the text or
sentence), ``title``; a re-ask adds ``previous`` and ``problems``. With ``group: paper`` (an
``output: fields`` prompt) one call asks for every non-English field of the paper: ``title`` and
``fields``, a list of ``{name, label, source}`` (a re-ask: only the failing fields, each with its
``previous`` answer and ``problems``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pipeline.models import FIELD_TITLES, SUMMARY_FIELDS, FieldOrigin, ValidationIssue
from pipeline.stages.base import FieldOutcome, ModelStage, StageSettings, Unit
from pipeline.stages.detect import needs_translation
from pipeline.validate.suites import check_translation

if TYPE_CHECKING:
    from pipeline.stages.job import PaperJob, RunContext

COPIED_NOTE = "source already English: copied"
REPLY_UNUSABLE_PREFIX = "model reply unusable"
"""Note of a field left empty because no model reply could be read; its ``schema`` issue quotes it."""
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def split_sentences(text: str) -> list[str]:
    """Cut Chinese text after 。！？； (and ASCII !?;); empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


class Translate(ModelStage):
    """The ``translate`` stage (module docstring)."""

    name = "translate"
    version = "1"
    variables = frozenset({"field", "field_label", "source", "title", "fields"})
    text_kind = "translation"
    description = "each non-English summary field to English"
    groups = True

    def begin(self, ctx: RunContext, job: PaperJob) -> None:
        prov = job.stage_provenance(ctx, self.name)
        for name in SUMMARY_FIELDS:
            field = job.source[name]
            if field.status == "ok" and not needs_translation(field):
                job.texts[name] = field.text
                job.origins[f"translation.{name}"] = "copied"
                prov.notes[name] = COPIED_NOTE

    def units(self, job: PaperJob) -> list[Unit]:
        return [Unit(name, f"translation.{name}", field.text or "") for name, field in job.source.items()
                if needs_translation(field)]

    def segments(self, settings: StageSettings, unit: Unit) -> list[str]:
        return split_sentences(unit.source) if settings.split == "sentences" else [unit.source]

    def variables_for(self, job: PaperJob, unit: Unit, segment: str) -> dict[str, Any]:
        return {"field": unit.key, "field_label": FIELD_TITLES.get(unit.key, unit.key), "source": segment,
                "title": job.paper.title}

    def group_variables(self, job: PaperJob, units: list[Unit],
                        feedback: dict[str, dict[str, str]]) -> dict[str, Any]:
        return {"title": job.paper.title,
                "fields": [{"name": u.key, "label": FIELD_TITLES.get(u.key, u.key), "source": u.source,
                            **feedback.get(u.key, {})} for u in units]}

    def check(self, job: PaperJob, unit: Unit, text: str) -> list[ValidationIssue]:
        return check_translation(unit.key, text, unit.source, abstract=job.paper.abstract, title=job.paper.title)

    def origin(self, unit: Unit) -> FieldOrigin:
        return "translated"

    def finish(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> FieldOutcome:
        if outcome.problem:
            outcome.note, outcome.origin = f"{REPLY_UNUSABLE_PREFIX}: {outcome.problem}", "unusable"
        return outcome

    def accept(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> None:
        job.texts[unit.key] = outcome.text
        job.issues += outcome.issues


STAGE = Translate()
