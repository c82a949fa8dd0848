"""Typed events the pipeline emits while it works, for progress, summaries and tests.

Tests assert on them, e.g. "the re-run executed only ``resummarize``": every model call is either
``executed`` or a ``cache_hit``; ``retried`` marks a transient provider error about to be retried;
``reasked`` an unusable reply (empty, broken JSON, cut at max_tokens) about to be asked again;
``repaired`` a field that passed validation after a re-ask; ``paper_done`` a finished paper;
``run_started`` carries the number of selected papers in ``detail`` (a backfill's: the papers its
days are expected to process, sent again when a day turns out to process another number); ``planned`` is a request plan
mode recorded instead of sending it (:mod:`pipeline.plan`); ``reused`` a paper taken from an
earlier day (:mod:`pipeline.reuse`, ``detail``: that day's output folder); ``day_started`` a day of
a multi-day run (``detail``: ``<n>/<days> <file>``); ``reask_too_large`` a re-ask whose prompt did
not fit the model's context window (the field keeps its best answer; ``detail``: the error).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

EventKind = Literal["run_started", "executed", "cache_hit", "retried", "reasked", "repaired", "paper_done",
                   "paper_failed", "planned", "reused", "day_started", "reask_too_large"]


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``field`` is a summary field name or ``summary``; ``detail`` free text.

    ``executed`` and ``cache_hit`` events also carry what the model call cost when it was made:
    ``seconds`` (wall time, retries included; None for cache entries stored without it) and
    ``tokens`` (prompt, completion) — on a cache hit these are the original call's, so a variant's
    cost can be compared whatever the cache held (``digest-pipeline eval``). ``batch`` marks a call
    answered by a provider's batch engine (priced at the model's ``batch_discount``).
    """

    kind: EventKind
    stage: str
    paper_id: str
    field: str | None = None
    detail: str = ""
    seconds: float | None = None
    tokens: tuple[int, int] | None = None
    batch: bool = False


@dataclass
class EventLog:
    """Thread-safe list of events with an optional listener called for each one."""

    listener: Callable[[Event], None] | None = None
    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
        if self.listener is not None:
            self.listener(event)

    def count(self, kind: EventKind, stage: str | None = None) -> int:
        with self._lock:
            return sum(1 for e in self.events if e.kind == kind and (stage is None or e.stage == stage))

    def by_stage(self, kind: EventKind) -> Counter[str]:
        with self._lock:
            return Counter(e.stage for e in self.events if e.kind == kind)
