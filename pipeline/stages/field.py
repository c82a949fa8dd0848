"""Units of a stage, asked, checked and re-asked: :func:`run_field` (one unit a call) and
:func:`run_group` (all of a paper's units in one call, for a stage whose settings say
``group: paper``).

The loop (after instructor's single re-ask loop): check the first answer; while error-severity
issues remain and re-asks are left (``validation.max_repairs``), re-ask with the failed answer and
the failing checks (:meth:`ModelStage.ask` / :meth:`ModelStage.ask_group`, which own the sampling
rule) and keep the attempt with the fewest errors. A group re-ask covers only the units still
failing, in one call. Checks make no model call, so validators can change without invalidating
any cached reply. The stage's :meth:`~ModelStage.finish` then adjusts the kept outcome (the
re-summary's fallback to the abstract), an answer that still fails is rejected (text None, kept
for the validation record), and a ``repaired`` event marks a unit that passed after a re-ask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.errors import RequestTooLargeError
from pipeline.events import Event
from pipeline.models import Usage, ValidationIssue
from pipeline.stages.base import Answer, FieldOutcome, ModelStage, Unit

if TYPE_CHECKING:
    from pipeline.stages.job import PaperJob, RunContext


def errors_of(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """The error-severity issues of ``issues``."""
    return [i for i in issues if i.severity == "error"]


EVIDENCE_CHECKS = frozenset({"invented_term", "invented_figure", "off_context_word", "unsupported_claim",
                             "omission", "substituted_term", "off_topic"})
"""Content checks whose re-ask shows the abstract sentence(s) that cover the part concerned."""


MAX_PROBLEM_LINES = 6
"""At most this many checks are listed in one re-ask: a looping answer can fail one check dozens
of times (a count run "1, 2, ... 52": 52 ``invented_figure`` issues), and a re-ask must still fit
a small model's context window."""


def problem_lines(issues: list[ValidationIssue], *, text: str = "", source: str | None = None,
                  abstract: str = "") -> list[str]:
    """Issues as short lines for a repair prompt, one line per check (at most
    :data:`MAX_PROBLEM_LINES`), e.g. ``numbers_preserved: number "0.002" ... missing``; when a
    check failed several times, its first message and the words the others quote
    (``(also "FOC", "Shanghai")``). A content
    check's line (:data:`EVIDENCE_CHECKS`) adds the evidence: the offending words are quoted in
    its message, and the abstract sentence(s) covering that part of the ``source`` follow
    (:func:`pipeline.validate.evidence.evidence_sentences`), each abstract sentence quoted once
    per re-ask, e.g. ``invented_term: term "FOC" is in neither ...; what the abstract says there:
    "We propose ..."``."""
    from pipeline.validate.evidence import evidence_sentences  # late: loads the word tables

    by_check: dict[str, list[ValidationIssue]] = {}
    for issue in issues:
        by_check.setdefault(issue.check, []).append(issue)
    lines, quoted = [], set()
    for check, same in list(by_check.items())[:MAX_PROBLEM_LINES]:
        issue = same[0]
        line = f"{check}: {issue.message}" + _more_like_it(same[1:])
        if check in EVIDENCE_CHECKS and text and abstract:
            cover = [c for c in evidence_sentences(issue, text, source=source, abstract=abstract) if c not in quoted]
            quoted.update(cover)
            if cover:
                line += f'; what the abstract says there: "{" ".join(cover)}"'
        lines.append(line)
    if len(by_check) > MAX_PROBLEM_LINES:
        lines.append(f"... and {len(by_check) - MAX_PROBLEM_LINES} more check(s) failed")
    return lines


MAX_MORE_QUOTED = 8
"""At most this many further offending words of one check are quoted on its line."""


def _more_like_it(more: list[ValidationIssue]) -> str:
    """`` (also "FOC", "Shanghai")`` for the further issues of one check: the words they quote,
    the first :data:`MAX_MORE_QUOTED`, then how many more; `` (and N more like it)`` when they
    quote nothing; empty for none."""
    from pipeline.validate.evidence import quoted_words

    if not more:
        return ""
    words = list(dict.fromkeys(w for issue in more for w in quoted_words(issue)))
    if not words:
        return f" (and {len(more)} more like it)"
    shown = ", ".join(f'"{w}"' for w in words[:MAX_MORE_QUOTED])
    rest = f" and {len(words) - MAX_MORE_QUOTED} more" if len(words) > MAX_MORE_QUOTED else ""
    return f" (also {shown}{rest})"


@dataclass
class _Track:
    """One unit's answers so far: the current one and its issues, the best (fewest errors)."""

    stage: ModelStage
    unit: Unit
    first: Answer
    first_issues: list[ValidationIssue]
    current: Answer | None = None
    issues: list[ValidationIssue] = field(default_factory=list)
    attempts: int = 1
    usage: Usage = field(default_factory=Usage)
    answers: dict[str, Answer] = field(default_factory=dict)
    best: FieldOutcome | None = None

    def __post_init__(self) -> None:
        self.current, self.issues, self.usage = self.first, self.first_issues, self.first.usage
        self.answers = {self.first.text: self.first}
        self.best = self._outcome(self.first, self.first_issues)

    @property
    def failing(self) -> bool:
        return bool(errors_of(self.issues))

    def add(self, answer: Answer, issues: list[ValidationIssue]) -> None:
        """A re-ask's answer: kept as the best when it has fewer errors."""
        self.answers[answer.text] = answer
        self.usage, self.attempts = self.usage.add(answer.usage), self.attempts + 1
        self.current, self.issues = answer, issues
        assert self.best is not None
        if len(errors_of(issues)) < len(self.best.errors):
            self.best = self._outcome(answer, issues)
            self.best.repaired = not errors_of(issues)

    def outcome(self) -> FieldOutcome:
        """The kept outcome, with the totals of every answer asked for."""
        assert self.best is not None
        best = self.best
        best.attempts, best.usage, best.cache = self.attempts, self.usage, "hit" if self.first.cached else "miss"
        best.known = all(a.known for a in self.answers.values())
        best.problem = self.answers[best.text].problem if best.text is not None else ""
        return best

    def _outcome(self, answer: Answer, issues: list[ValidationIssue]) -> FieldOutcome:
        return FieldOutcome(text=answer.text, origin=self.stage.origin(self.unit), issues=issues,
                            first_issues=self.first_issues, attempts=self.attempts, repaired=False,
                            usage=answer.usage)


def _problems(job: PaperJob, track: _Track) -> list[str]:
    """The re-ask lines of a unit's current answer, with the abstract's evidence."""
    return problem_lines(errors_of(track.issues), text=track.current.text if track.current else "",
                         source=track.unit.source or None, abstract=job.paper.abstract)


def run_field(stage: ModelStage, ctx: RunContext, job: PaperJob, unit: Unit) -> FieldOutcome:
    """Ask ``stage`` for ``unit`` of ``job``'s paper, check, re-ask while errors remain (module
    docstring); returns the kept :class:`FieldOutcome`. Raises ProviderError /
    RetryExhaustedError from the provider (the runner fails the paper)."""
    settings = ctx.settings[stage.name]
    upstream_unknown = stage.reads_earlier_stages and job.unknown
    first = stage.ask(ctx.caller, settings, job, unit, after_unknown=upstream_unknown)
    track = _Track(stage, unit, first, stage.check(job, unit, first.text))
    while track.failing and track.attempts <= ctx.max_repairs:
        assert track.current is not None
        try:
            answer = stage.ask(ctx.caller, settings, job, unit, attempt=track.attempts, previous=track.current.text,
                               problems=_problems(job, track),
                               after_unknown=upstream_unknown or not track.current.known)
        except RequestTooLargeError as exc:  # the re-ask does not fit the model: keep the best answer
            _too_large(ctx, stage, job, unit, exc)
            break
        track.add(answer, stage.check(job, unit, answer.text))
    return _finished(stage, ctx, job, track)


def run_group(stage: ModelStage, ctx: RunContext, job: PaperJob, units: list[Unit]) -> list[FieldOutcome]:
    """Ask ``stage`` for all ``units`` of ``job``'s paper in one call, check each, and re-ask the
    failing ones together while errors remain (module docstring); one outcome per unit, in order."""
    settings = ctx.settings[stage.name]
    upstream_unknown = stage.reads_earlier_stages and job.unknown
    first = stage.ask_group(ctx.caller, settings, job, units, after_unknown=upstream_unknown)
    tracks = [_Track(stage, u, first[u.key], stage.check(job, u, first[u.key].text)) for u in units]
    for attempt in range(1, ctx.max_repairs + 1):
        failing = [t for t in tracks if t.failing]
        if not failing:
            break
        try:
            again = stage.ask_group(ctx.caller, settings, job, [t.unit for t in failing], attempt=attempt,
                                    previous={t.unit.key: t.current.text for t in failing if t.current},
                                    problems={t.unit.key: _problems(job, t) for t in failing},
                                    after_unknown=upstream_unknown or not all(t.current and t.current.known
                                                                              for t in failing))
        except RequestTooLargeError as exc:  # the re-ask does not fit the model: keep the best answers
            _too_large(ctx, stage, job, failing[0].unit, exc)
            break
        for track in failing:
            track.add(again[track.unit.key], stage.check(job, track.unit, again[track.unit.key].text))
    return [_finished(stage, ctx, job, track) for track in tracks]


def _too_large(ctx: RunContext, stage: ModelStage, job: PaperJob, unit: Unit, exc: RequestTooLargeError) -> None:
    """Report a re-ask that did not fit the model's context window (the loop then stops)."""
    ctx.caller.events.emit(Event("reask_too_large", stage.name, job.paper.arxiv_id, unit.key, detail=str(exc)))


def _finished(stage: ModelStage, ctx: RunContext, job: PaperJob, track: _Track) -> FieldOutcome:
    outcome = _rejected_if_failed(stage.finish(job, track.unit, track.outcome()))
    if outcome.repaired:
        ctx.caller.events.emit(Event("repaired", stage.name, job.paper.arxiv_id, track.unit.key))
    return outcome


def _rejected_if_failed(outcome: FieldOutcome) -> FieldOutcome:
    """A kept answer that still fails a check is not published as English: the text becomes None
    and the answer is kept as ``rejected`` for the validation record."""
    if outcome.errors and outcome.text is not None:
        outcome.rejected, outcome.text = outcome.text, None
    return outcome
