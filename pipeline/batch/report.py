"""What a batch run tells its user: progress events while it goes, a report at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

BatchEventKind = Literal["resumed", "round", "submitted", "status", "poll_error", "imported", "given_up", "done"]


@dataclass(frozen=True)
class BatchEvent:
    """One step of a batch run: ``round`` (0 = a batch resumed from an earlier run), the
    ``batch_id`` and its ``status`` and ``counts`` (``total``, ``completed``, ``failed``),
    ``requests`` (lines submitted, answers imported...) and free ``detail``."""

    kind: BatchEventKind
    round: int = 0
    batch_id: str = ""
    status: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    failed: int = 0
    detail: str = ""


OnBatchEvent = Callable[[BatchEvent], None]


@dataclass
class BatchReport:
    """The rounds of a batch run: ``rounds`` run, batches ``submitted`` and ``resumed`` (ids),
    ``requests`` sent (lines), ``answers`` imported, ``failed_lines`` (failed, expired or
    missing), ``unanswered`` (cache key -> why it still has no answer: given up after its
    retries, or the round limit came first), ``left`` (requests the final plan still needs,
    the unanswered and those that depend on them), ``wall_seconds``."""

    rounds: int = 0
    submitted: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    requests: int = 0
    answers: int = 0
    failed_lines: int = 0
    unanswered: dict[str, str] = field(default_factory=dict)
    left: int = 0
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (``run --batch --json``)."""
        return {"rounds": self.rounds, "batches_submitted": self.submitted, "batches_resumed": self.resumed,
                "requests": self.requests, "answers": self.answers, "failed_lines": self.failed_lines,
                "unanswered": len(self.unanswered), "left": self.left, "wall_seconds": round(self.wall_seconds, 3)}


def _counts(event: BatchEvent) -> str:
    c = event.counts
    return f"{c.get('completed', 0)}/{c.get('total', 0)} done, {c.get('failed', 0)} failed" if c else "no counts yet"


_LINES: dict[str, Callable[[BatchEvent], str]] = {
    "resumed": lambda e: (f"resuming batch {e.batch_id or '(being created)'} from an earlier run ({e.status}, "
                          f"{e.requests} requests): polling it, nothing is resubmitted"),
    "round": lambda e: f"round {e.round}: {e.requests} requests to send{e.detail}",
    "submitted": lambda e: f"round {e.round}: batch {e.batch_id} submitted ({e.requests} requests, {e.detail})",
    "status": lambda e: f"batch {e.batch_id}: {e.status}, {_counts(e)}",
    "poll_error": lambda e: f"batch {e.batch_id}: status check failed ({e.detail}); trying again",
    "imported": lambda e: (f"batch {e.batch_id}: {e.status}; {e.requests} answers into the cache"
                           + (f", {e.failed} lines without an answer ({e.detail})" if e.failed else "")),
    "given_up": lambda e: f"{e.requests} requests still have no answer: {e.detail}",
    "done": lambda e: e.detail,
}


def event_line(event: BatchEvent) -> str:
    """One progress line for ``event``."""
    return _LINES[event.kind](event)


def report_line(report: BatchReport) -> str:
    """The one-line summary of the rounds."""
    text = (f"batch mode: {report.rounds} round(s), {len(report.submitted)} batch(es) submitted"
            + (f", {len(report.resumed)} resumed" if report.resumed else "")
            + f", {report.requests} requests, {report.answers} answers, {report.failed_lines} failed lines, "
              f"{report.wall_seconds:.1f}s")
    if report.unanswered:
        text += f"; {len(report.unanswered)} requests without an answer"
    return text
