"""The state of one paper going through the model stages, and what every paper of a run shares.

:class:`PaperJob` is filled in by the stages in their declared order (each stage's ``accept``):
English texts, issues, attempts, typed field origins, per-stage provenance. It starts from the
``detect`` stage's result: every source field's language and status, and a warning issue for each
field the digest lacks or holds only a failure placeholder for. :class:`RunContext` holds the
per-run things: the model caller, each stage's settings, the re-ask limit, the run id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.models import (
    SUMMARY_FIELDS,
    FieldOrigin,
    Paper,
    SourceField,
    StageProvenance,
    ValidationIssue,
)
from pipeline.stages.base import FieldOutcome, ModelStage, StageSettings, Unit
from pipeline.stages.caller import ModelCaller
from pipeline.stages.detect import detect_fields


@dataclass(frozen=True)
class RunContext:
    """Everything a paper job needs that is the same for every paper of a run: the ``caller``,
    the configured ``stages`` in DAG order with their ``settings`` (by stage name), the re-ask
    limit ``max_repairs`` (per unit) and the ``run_id``."""

    caller: ModelCaller
    stages: tuple[ModelStage, ...]
    settings: dict[str, StageSettings]
    max_repairs: int
    run_id: str
    fill_failed: bool = False
    """``validation.fill_failed_from_abstract``: the generate stage also writes the fields whose
    translation failed."""

    def provenance(self, stage_name: str) -> StageProvenance:
        """A stage's provenance before any call: provider, model, prompt name and hash."""
        settings = self.settings[stage_name]
        return StageProvenance(provider=self.caller.provider.name, model=settings.model,
                               prompt=settings.prompt.name, prompt_hash=settings.prompt.content_hash)


@dataclass
class PaperJob:
    """One paper's state between the stages (module docstring). ``texts`` are the English fields
    (None: no honest text), ``extra`` the digest's extra fields plus what added stages write,
    ``unknown`` is True once plan mode answered a call of this paper with a stand-in."""

    paper: Paper
    source: dict[str, SourceField]
    texts: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(SUMMARY_FIELDS))
    summary: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    issues: list[ValidationIssue] = field(default_factory=list)
    first_issues: list[ValidationIssue] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    origins: dict[str, FieldOrigin] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, StageProvenance] = field(default_factory=dict)
    unknown: bool = False
    failed_translations: set[str] = field(default_factory=set)
    """Fields whose translation was rejected, for the generate stage to write from the abstract
    (only with ``validation.fill_failed_from_abstract``)."""

    @classmethod
    def start(cls, paper: Paper) -> PaperJob:
        """A job after ``detect``: source fields, and a warning for each missing/failed one."""
        source = detect_fields(paper)
        job = cls(paper=paper, source=source, extra=dict(paper.extra))
        job.issues = [source_issue(paper, name, f) for name, f in source.items() if f.status != "ok"]
        return job

    def stage_provenance(self, ctx: RunContext, stage_name: str) -> StageProvenance:
        """The provenance of ``stage_name`` in this paper, created on first use."""
        if stage_name not in self.provenance:
            self.provenance[stage_name] = ctx.provenance(stage_name)
        return self.provenance[stage_name]

    def record(self, ctx: RunContext, stage: ModelStage, unit: Unit, outcome: FieldOutcome) -> None:
        """Book what every stage's outcome carries: usage, cache hit/miss, note, attempts, first
        issues, origin; the stage's ``accept`` then stores the text and issues."""
        prov = self.stage_provenance(ctx, stage.name)
        prov.usage = prov.usage.add(outcome.usage)
        if outcome.cache is not None:
            prov.cache[unit.name] = outcome.cache
        if outcome.note is not None:
            prov.notes[unit.name] = outcome.note
        self.attempts[unit.path] = outcome.attempts
        self.first_issues += outcome.first_issues
        if outcome.origin is not None:
            self.origins[unit.path] = outcome.origin
        if outcome.rejected is not None:
            self.rejected[unit.path] = outcome.rejected
        self.unknown = self.unknown or not outcome.known


def source_issue(paper: Paper, name: str, field: SourceField) -> ValidationIssue:
    """The warning for a summary field the digest lacks (``source_missing``) or holds only a
    failure placeholder, refusal or unfilled template for (``source_failed``)."""
    if field.status == "missing":
        return ValidationIssue(field=f"translation.{name}", check="source_missing", severity="warning",
                               message=f"the digest has no {name} field for this paper; nothing to translate")
    reason = paper.source_problems.get(name, "not content")
    return ValidationIssue(field=f"translation.{name}", check="source_failed", severity="warning",
                           message=f"the digest's {name} is not content ({reason}); not translated")
