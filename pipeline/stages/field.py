"""One unit of one stage, asked, checked and re-asked: :func:`run_field`.

The loop (after instructor's single re-ask loop): check the first answer; while error-severity
issues remain and re-asks are left (``validation.max_repairs``), re-ask with the failed answer and
the failing checks (:meth:`ModelStage.ask`, which owns the sampling rule) and keep the attempt
with the fewest errors. Checks make no model call, so validators can change without invalidating
any cached reply. The stage's :meth:`~ModelStage.finish` then adjusts the kept outcome (the
re-summary's fallback to the abstract, a rejected generated field), and a ``repaired`` event marks
a unit that passed after a re-ask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.events import Event
from pipeline.models import ValidationIssue
from pipeline.stages.base import Answer, FieldOutcome, ModelStage, Unit

if TYPE_CHECKING:
    from pipeline.stages.job import PaperJob, RunContext


def errors_of(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """The error-severity issues of ``issues``."""
    return [i for i in issues if i.severity == "error"]


def problem_lines(issues: list[ValidationIssue]) -> list[str]:
    """Issues as short lines for a repair prompt, e.g. ``numbers_preserved: number "0.002" ... missing``."""
    return [f"{i.check}: {i.message}" for i in issues]


def run_field(stage: ModelStage, ctx: RunContext, job: PaperJob, unit: Unit) -> FieldOutcome:
    """Ask ``stage`` for ``unit`` of ``job``'s paper, check, re-ask while errors remain (module
    docstring); returns the kept :class:`FieldOutcome`. Raises ProviderError /
    RetryExhaustedError from the provider (the runner fails the paper)."""
    settings = ctx.settings[stage.name]
    upstream_unknown = stage.reads_earlier_stages and job.unknown
    answer = stage.ask(ctx.caller, settings, job, unit, after_unknown=upstream_unknown)
    answers = {answer.text: answer}  # text -> the (last) answer that gave it
    first_issues = stage.check(job, unit, answer.text)
    best = _outcome(stage, unit, answer, first_issues, first_issues, 1)
    current, issues, attempts, usage = answer, first_issues, 1, answer.usage
    while errors_of(issues) and attempts <= ctx.max_repairs:
        current = stage.ask(ctx.caller, settings, job, unit, attempt=attempts, previous=current.text,
                            problems=problem_lines(errors_of(issues)),
                            after_unknown=upstream_unknown or not current.known)
        answers[current.text] = current
        usage, attempts = usage.add(current.usage), attempts + 1
        issues = stage.check(job, unit, current.text)
        if len(errors_of(issues)) < len(best.errors):
            best = _outcome(stage, unit, current, issues, first_issues, attempts)
            best.repaired = not errors_of(issues)
    best.attempts, best.usage, best.cache = attempts, usage, "hit" if answer.cached else "miss"
    best.known = all(a.known for a in answers.values())
    best.problem = answers[best.text].problem if best.text is not None else ""
    outcome = _rejected_if_failed(stage.finish(job, unit, best))
    if outcome.repaired:
        ctx.caller.events.emit(Event("repaired", stage.name, job.paper.arxiv_id, unit.key))
    return outcome


def _rejected_if_failed(outcome: FieldOutcome) -> FieldOutcome:
    """A kept answer that still fails a check is not published as English: the text becomes None
    and the answer is kept as ``rejected`` for the validation record."""
    if outcome.errors and outcome.text is not None:
        outcome.rejected, outcome.text = outcome.text, None
    return outcome


def _outcome(stage: ModelStage, unit: Unit, answer: Answer, issues: list[ValidationIssue],
             first_issues: list[ValidationIssue], attempts: int) -> FieldOutcome:
    return FieldOutcome(text=answer.text, origin=stage.origin(unit), issues=issues, first_issues=first_issues,
                        attempts=attempts, repaired=False, usage=answer.usage)
