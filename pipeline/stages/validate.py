"""Stage ``validate``: deterministic checks on a field's output, with re-ask repair.

:func:`validate_with_repair` checks the first answer; while error-severity issues remain and
repairs are left it re-asks (the caller's ``reask`` puts the failed output and the failing checks
into the prompt) and keeps the attempt with the fewest errors. Nothing here calls a model
directly, so validators can change without invalidating any cached model reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.models import Usage, ValidationIssue

Check = Callable[[str], list[ValidationIssue]]
#: reask(attempt_number, previous_text, issues) -> (new_text, usage, cached)
Reask = Callable[[int, str, list[ValidationIssue]], tuple[str, Usage, bool]]


@dataclass
class FieldOutcome:
    """The kept answer for one field: ``text``, its remaining ``issues``, ``attempts`` made
    (1 = first answer only), whether a re-ask fixed it (``repaired``), the usage of the re-asks,
    and ``first_issues``: the issues of the first answer, before any re-ask."""

    text: str
    issues: list[ValidationIssue]
    attempts: int
    repaired: bool
    repair_usage: Usage
    first_issues: list[ValidationIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[ValidationIssue]:
        return errors_of(self.issues)


def errors_of(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    return [i for i in issues if i.severity == "error"]


def validate_with_repair(first_text: str, check: Check, reask: Reask, max_repairs: int) -> FieldOutcome:
    """Check ``first_text``; re-ask up to ``max_repairs`` times while errors remain (see module doc)."""
    first_issues = check(first_text)
    best = FieldOutcome(first_text, first_issues, 1, False, Usage(), first_issues)
    usage, attempts = Usage(), 1
    current_text, current_issues = best.text, best.issues
    while errors_of(current_issues) and attempts <= max_repairs:
        current_text, spent, _cached = reask(attempts, current_text, errors_of(current_issues))
        usage, attempts = usage.add(spent), attempts + 1
        current_issues = check(current_text)
        if len(errors_of(current_issues)) < len(best.errors):
            best = FieldOutcome(current_text, current_issues, attempts, not errors_of(current_issues), usage,
                                first_issues)
    best.attempts, best.repair_usage = attempts, usage
    return best


def problem_lines(issues: list[ValidationIssue]) -> list[str]:
    """Issues as short lines for a repair prompt, e.g. ``numbers_preserved: number "0.002" ... missing``."""
    return [f"{i.check}: {i.message}" for i in issues]
