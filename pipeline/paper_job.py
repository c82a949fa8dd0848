"""The per-paper DAG: detect -> translate (per field) -> resummarize -> validate/repair -> document.

A field whose source is missing or a failure placeholder is written from the abstract by the
``generate`` stage (when configured), checked with ``check_generated`` and re-asked like any other
field; rejected generated text is never kept (the field stays None and the errors are listed).
The final ``validation`` block is built by :func:`pipeline.validate.document.revalidate`, the
function ``digest-pipeline validate`` uses, so a run and a later ``validate`` agree exactly.

:func:`process_paper` runs one :class:`~pipeline.models.Paper` through every stage and returns its
:class:`~pipeline.models.PaperDocument`; writing is the runner's job. Model calls go through the
shared :class:`~pipeline.stages.caller.ModelCaller` (cache + retries + events).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline import __version__
from pipeline.events import Event
from pipeline.models import (
    SUMMARY_FIELDS,
    Paper,
    PaperDocument,
    Provenance,
    SourceField,
    StageProvenance,
    Summary,
    Translation,
    Usage,
    Validation,
    ValidationIssue,
)
from pipeline.stages import generate as generate_stage
from pipeline.stages import resummarize as resummarize_stage
from pipeline.stages import translate as translate_stage
from pipeline.stages.caller import ModelCaller
from pipeline.stages.detect import detect_fields, needs_translation
from pipeline.stages.settings import StageSettings
from pipeline.stages.validate import FieldOutcome, problem_lines, validate_with_repair
from pipeline.validate.checks import check_generated, check_summary, check_translation
from pipeline.validate.document import REPLY_UNUSABLE_PREFIX, error_counts, revalidate


@dataclass(frozen=True)
class RunContext:
    """Everything a paper job needs that is the same for every paper of a run."""

    caller: ModelCaller
    translate: StageSettings
    resummarize: StageSettings
    max_repairs: int
    run_id: str
    generate: StageSettings | None = None  # None: missing/failed source fields stay None

    @property
    def stages(self) -> list[StageSettings]:
        """The model stages this run has configured (translate, resummarize, generate)."""
        return [s for s in (self.translate, self.resummarize, self.generate) if s is not None]

    def provenance(self, settings: StageSettings) -> StageProvenance:
        """A stage's provenance before any call: provider, model, prompt name and hash."""
        return StageProvenance(provider=self.caller.provider.name, model=settings.model,
                               prompt=settings.prompt.name, prompt_hash=settings.prompt.content_hash)


def process_paper(paper: Paper, ctx: RunContext) -> PaperDocument:
    """Run the whole DAG for ``paper``. Raises ProviderError when the provider cannot answer."""
    source = detect_fields(paper)
    t_prov = ctx.provenance(ctx.translate)
    g_prov = ctx.provenance(ctx.generate) if ctx.generate is not None else StageProvenance()
    first: list[ValidationIssue] = []  # issues of every field's first answer, before any re-ask
    translation, issues, attempts = _translate_all(paper, source, ctx, t_prov, g_prov, first)
    s_prov = ctx.provenance(ctx.resummarize)
    summary, summary_issues, summary_attempts = _summarize(paper, translation, ctx, s_prov, first)
    issues += summary_issues
    attempts["summary.tldr"] = summary_attempts
    stages = {"detect": StageProvenance(notes={f: s.language or s.status for f, s in source.items()}),
              "translate": t_prov}
    if g_prov.notes:
        stages["generate"] = g_prov
    stages["resummarize"] = s_prov
    usage = t_prov.usage.add(g_prov.usage).add(s_prov.usage)
    document = PaperDocument(
        arxiv_id=paper.arxiv_id, url=paper.url, title=paper.title, authors=paper.authors,
        category=paper.category, abstract=paper.abstract, source=source, extra=paper.extra,
        translation=translation, summary=Summary(tldr=summary),
        validation=Validation(status="failed", issues=issues, attempts=attempts,
                              first_attempt_failures=error_counts(first)),
        provenance=Provenance(pipeline_version=__version__, run_id=ctx.run_id, stages=stages, usage=usage))
    # The final block comes from the same function ``digest-pipeline validate`` uses.
    return document.model_copy(update={"validation": revalidate(document)})


def _translate_all(paper: Paper, source: dict[str, SourceField], ctx: RunContext, prov: StageProvenance,
                   g_prov: StageProvenance,
                   first: list[ValidationIssue]) -> tuple[Translation, list[ValidationIssue], dict[str, int]]:
    texts: dict[str, str | None] = {}
    issues: list[ValidationIssue] = []
    attempts: dict[str, int] = {}
    for name in SUMMARY_FIELDS:
        field = source[name]
        if field.status != "ok":
            texts[name] = None
            source_issue = _source_issue(paper, name, field)
            issues.append(source_issue)
            if ctx.generate is not None and paper.abstract.strip():
                outcome = _generate_one(paper, name, field.status, ctx, g_prov)
                texts[name] = None if outcome.errors else outcome.text
                attempts[f"translation.{name}"] = outcome.attempts
                issues += outcome.issues
                first += outcome.first_issues
                issues[issues.index(source_issue)] = source_issue.model_copy(update={"message": (
                    f"{source_issue.message}; written from the abstract instead" if not outcome.errors else
                    f"{source_issue.message}; the text written from the abstract failed validation, left empty")})
            continue
        if not needs_translation(field):
            texts[name] = field.text
            prov.notes[name] = "source already English: copied"
            continue
        outcome = _translate_one(paper, name, field.text or "", ctx, prov)
        texts[name], attempts[f"translation.{name}"] = outcome.text, outcome.attempts
        issues += outcome.issues
        first += outcome.first_issues
    return Translation(**texts), issues, attempts


def _generate_one(paper: Paper, name: str, status: str, ctx: RunContext, prov: StageProvenance) -> FieldOutcome:
    """Write field ``name`` from the abstract (its source is ``status``), checked and re-asked."""
    settings = ctx.generate
    assert settings is not None
    first = generate_stage.generate_field(ctx.caller, settings, paper, name)
    prov.usage = prov.usage.add(first.usage)
    prov.cache[name] = "hit" if first.cached else "miss"

    def reask(attempt: int, previous: str, errors: list[ValidationIssue]) -> tuple[str, Usage, bool]:
        again = generate_stage.generate_field(ctx.caller, settings, paper, name, attempt=attempt,
                                              previous=previous, problems=problem_lines(errors))
        return translate_stage.clean_reply(again.text), again.usage, again.cached

    outcome = validate_with_repair(translate_stage.clean_reply(first.text),
                                   lambda t: check_generated(name, t, paper.abstract), reask, ctx.max_repairs)
    prov.usage = prov.usage.add(outcome.repair_usage)
    note = generate_stage.provenance_note(status)
    if outcome.errors:
        note += f"; rejected after {outcome.attempts} attempt(s): failed validation, left empty"
    prov.notes[name] = note
    if outcome.repaired:
        ctx.caller.events.emit(Event("repaired", "generate", paper.arxiv_id, name))
    return outcome


def _translate_one(paper: Paper, name: str, text: str, ctx: RunContext, prov: StageProvenance) -> FieldOutcome:
    settings = ctx.translate
    results = translate_stage.translate_field(ctx.caller, settings, paper, name, text)
    first, usage = translate_stage.join_results(results)
    prov.usage = prov.usage.add(usage)
    prov.cache[name] = "hit" if all(r.cached for r in results) else "miss"
    unusable = {first: translate_stage.reply_problem(results)}  # text -> why no usable reply

    def reask(attempt: int, previous: str, errors: list[ValidationIssue]) -> tuple[str, Usage, bool]:
        again = translate_stage.repair_field(ctx.caller, settings, paper, name, text, previous,
                                             problem_lines(errors), attempt)
        joined, spent = translate_stage.join_results(again)
        unusable[joined] = translate_stage.reply_problem(again)
        return joined, spent, all(r.cached for r in again)

    outcome = validate_with_repair(first, lambda t: check_translation(name, t, text), reask, ctx.max_repairs)
    prov.usage = prov.usage.add(outcome.repair_usage)
    if unusable.get(outcome.text):
        prov.notes[name] = f"{REPLY_UNUSABLE_PREFIX}: {unusable[outcome.text]}"
    if outcome.repaired:
        ctx.caller.events.emit(Event("repaired", "translate", paper.arxiv_id, name))
    return outcome


def _summarize(paper: Paper, translation: Translation, ctx: RunContext, prov: StageProvenance,
               first_issues: list[ValidationIssue]) -> tuple[str, list[ValidationIssue], int]:
    settings = ctx.resummarize
    first = resummarize_stage.resummarize(ctx.caller, settings, paper, translation)
    prov.usage = prov.usage.add(first.usage)
    prov.cache["tldr"] = "hit" if first.cached else "miss"
    tr = translation.model_dump()

    def check(text: str) -> list[ValidationIssue]:
        return check_summary(text, paper.abstract, tr)

    def reask(attempt: int, previous: str, errors: list[ValidationIssue]) -> tuple[str, Usage, bool]:
        again = resummarize_stage.resummarize(ctx.caller, settings, paper, translation, attempt=attempt,
                                              previous=previous, problems=problem_lines(errors))
        return translate_stage.clean_reply(again.text), again.usage, again.cached

    outcome = validate_with_repair(translate_stage.clean_reply(first.text), check, reask, ctx.max_repairs)
    prov.usage = prov.usage.add(outcome.repair_usage)
    first_issues += outcome.first_issues
    if outcome.errors:
        fallback = resummarize_stage.first_sentence(paper.abstract)
        fallback_issues = check(fallback) if fallback else []
        if fallback and not [i for i in fallback_issues if i.severity == "error"]:
            prov.notes["tldr"] = "fallback: first sentence of the abstract (every model attempt failed validation)"
            return fallback, fallback_issues, outcome.attempts
    if outcome.repaired:
        ctx.caller.events.emit(Event("repaired", "resummarize", paper.arxiv_id, "summary"))
    return outcome.text, outcome.issues, outcome.attempts


def _source_issue(paper: Paper, name: str, field: SourceField) -> ValidationIssue:
    if field.status == "missing":
        return ValidationIssue(field=f"translation.{name}", check="source_missing", severity="warning",
                               message=f"the digest has no {name} field for this paper; nothing to translate")
    reason = paper.source_problems.get(name, "not content")
    return ValidationIssue(field=f"translation.{name}", check="source_failed", severity="warning",
                           message=f"the digest's {name} is not content ({reason}); not translated")
