"""The per-paper DAG: detect, then every configured model stage in its declared order, then the
document.

:func:`process_paper` starts a :class:`~pipeline.stages.job.PaperJob` from the ``detect`` stage
(language and status of every source field), runs each stage of the run context over its units
(:func:`pipeline.stages.field.run_field`: ask -> check -> re-ask), and builds the
:class:`~pipeline.models.PaperDocument`. The final ``validation`` block is built by
:func:`pipeline.validate.document.revalidate`, the function ``digest-pipeline validate`` uses, so
a run and a later ``validate`` agree exactly. Writing is the runner's job. In plan mode (the
caller has a planner) the same code runs with stand-in answers for calls not in the cache.
"""

from __future__ import annotations

from pipeline import __version__
from pipeline.models import (
    SUMMARY_FIELDS,
    Paper,
    PaperDocument,
    Provenance,
    StageProvenance,
    Summary,
    Translation,
    Usage,
    Validation,
)
from pipeline.stages.field import run_field, run_group
from pipeline.stages.job import PaperJob, RunContext
from pipeline.validate.document import error_counts, revalidate

__all__ = ["RunContext", "process_paper", "run_stages"]


def run_stages(job: PaperJob, ctx: RunContext) -> PaperJob:
    """Run every stage of ``ctx`` over ``job`` in order (each unit asked, checked, re-asked)."""
    for stage in ctx.stages:
        if not stage.optional:
            job.stage_provenance(ctx, stage.name)
        stage.begin(ctx, job)
        units = stage.units(job)
        grouped = stage.groups and ctx.settings[stage.name].group == "paper" and len(units) > 0
        outcomes = run_group(stage, ctx, job, units) if grouped else [run_field(stage, ctx, job, u) for u in units]
        for unit, outcome in zip(units, outcomes):
            job.record(ctx, stage, unit, outcome)
            stage.accept(job, unit, outcome)
    return job


def process_paper(paper: Paper, ctx: RunContext) -> PaperDocument:
    """Run the whole DAG for ``paper``. Raises ProviderError when the provider cannot answer."""
    job = run_stages(PaperJob.start(paper), ctx)
    document = build_document(job, ctx.run_id)
    # The final block comes from the same function ``digest-pipeline validate`` uses.
    return document.model_copy(update={"validation": revalidate(document)})


def _field_order(key: str) -> int:
    name = key.rsplit(".", 1)[-1]
    base = SUMMARY_FIELDS.index(name) if name in SUMMARY_FIELDS else len(SUMMARY_FIELDS)
    return base + (len(SUMMARY_FIELDS) + 1 if key.startswith("summary.") else 0)


def _in_field_order(mapping: dict) -> dict:
    """``mapping`` (keyed by field or output path) with its keys in digest field order."""
    return dict(sorted(mapping.items(), key=lambda item: _field_order(item[0])))


def build_document(job: PaperJob, run_id: str) -> PaperDocument:
    """The paper document of a finished job (validation not yet recomputed)."""
    paper = job.paper
    detect = StageProvenance(notes={f: s.language or s.status for f, s in job.source.items()})
    stages = {"detect": detect}
    for name, prov in job.provenance.items():
        stages[name] = prov.model_copy(update={"cache": _in_field_order(prov.cache),
                                               "notes": _in_field_order(prov.notes)})
    usage = Usage()
    for prov in job.provenance.values():
        usage = usage.add(prov.usage)
    return PaperDocument(
        arxiv_id=paper.arxiv_id, url=paper.url, title=paper.title, authors=paper.authors,
        category=paper.category, abstract=paper.abstract, source=job.source, extra=job.extra,
        translation=Translation(**job.texts), summary=Summary(tldr=job.summary),
        validation=Validation(status="failed", issues=job.issues, attempts=_in_field_order(job.attempts),
                              first_attempt_failures=error_counts(job.first_issues),
                              rejected=_in_field_order(job.rejected)),
        provenance=Provenance(pipeline_version=__version__, run_id=run_id, origins=_in_field_order(job.origins),
                              stages=stages, usage=usage))
