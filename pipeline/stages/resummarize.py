"""Stage ``resummarize``: a fresh English TL;DR written from the abstract and the translation.

Checked as a summary (:func:`pipeline.validate.suites.check_summary`: no figure that is in neither
the abstract nor the translation...) and re-asked like any field. When every answer fails, the
TL;DR falls back to the abstract's first sentence if that passes the same checks (origin
``fallback``, and a provenance note says so).

Prompt variables: ``title``, ``abstract`` and the English ``tldr``, ``motivation``, ``method``,
``result``, ``conclusion`` ("" where there is none); a re-ask adds ``previous`` and ``problems``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pipeline.models import SUMMARY_FIELDS, ValidationIssue
from pipeline.stages.base import FieldOutcome, ModelStage, Unit
from pipeline.validate.suites import check_summary

if TYPE_CHECKING:
    from pipeline.stages.job import PaperJob

FALLBACK_NOTE = "fallback: first sentence of the abstract (every model attempt failed validation)"


def first_sentence(abstract: str) -> str:
    """The abstract's first sentence: the honest fallback TL;DR when every model attempt failed."""
    text = re.sub(r"\s+", " ", abstract).strip()
    match = re.match(r"(.+?[.!?])(?:\s+(?=[A-Z0-9])|$)", text)
    return (match.group(1) if match else text).strip()


class Resummarize(ModelStage):
    """The ``resummarize`` stage (module docstring)."""

    name = "resummarize"
    version = "1"
    variables = frozenset({"title", "abstract", *SUMMARY_FIELDS})
    text_kind = "summary"
    reads_earlier_stages = True
    description = "an English TL;DR written from the abstract and the translation"

    def units(self, job: PaperJob) -> list[Unit]:
        return [Unit("summary", "summary.tldr")]

    def variables_for(self, job: PaperJob, unit: Unit, segment: str) -> dict[str, Any]:
        return {"title": job.paper.title, "abstract": job.paper.abstract,
                **{k: v or "" for k, v in job.texts.items()}}

    def check(self, job: PaperJob, unit: Unit, text: str) -> list[ValidationIssue]:
        return check_summary(text, job.paper.abstract, job.texts, title=job.paper.title)

    def finish(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> FieldOutcome:
        if not outcome.errors:
            return outcome
        fallback = first_sentence(job.paper.abstract)
        issues = self.check(job, unit, fallback) if fallback else []
        if fallback and not [i for i in issues if i.severity == "error"]:
            outcome.text, outcome.issues, outcome.origin = fallback, issues, "fallback"
            outcome.note, outcome.repaired = FALLBACK_NOTE, False
        return outcome

    def accept(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> None:
        job.summary = outcome.text
        job.issues += outcome.issues


STAGE = Resummarize()
