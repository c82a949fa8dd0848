"""Run a digest: select papers, run each paper's DAG in a thread pool, write the outputs.

:func:`run_digest` is the one run path: ``digest-pipeline run`` calls it for the selected papers,
``rerun`` for one paper with forced stages, ``eval`` for each variant. It returns a
:class:`RunResult` (the documents and the summary written to ``run.json``); the CLI only prints
it. What the day's aggregates say (``digest.json``, ``digest.en.md``, ``run.json``) is decided by
an :data:`AggregateUpdate`: :func:`whole_day` for a run (every paper of the digest listed,
:func:`pipeline.documents.digest_entries`), :func:`processed_only` for an eval, and the rerun's
in-place update (:mod:`pipeline.rerun`).

A provider error that is not transient (bad key, unknown model) stops the run at once
(:class:`pipeline.errors.ProviderError`, exit 2; if any paper finished, the aggregates describe
them, the rest ``skipped``, ``stopped``; if none did, no aggregate is written); transient errors
that outlast the retries fail only that paper, which is still written with status ``failed``;
after :data:`OUTAGE_PAPERS` such papers in a row no new paper starts (the rest are ``skipped``).
A first answer whose prompt does not fit the
model (:class:`pipeline.errors.RequestTooLargeError`) fails only that paper; a re-ask that does
not fit ends that field's re-asks (its best answer is kept).
Ctrl-C starts no new paper either; those in progress finish and are written.

Every document is priced (:mod:`pipeline.cost`): tokens spent and served from the cache per stage,
at the config's ``prices``. With ``budget.max_cost`` / ``budget.max_tokens``, once the run's spend
reaches a limit no new paper starts: the rest are written with status ``skipped`` (exit 1).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.cache import CacheStore
from pipeline.config import LoadedConfig
from pipeline.cost import Accounting, price_document
from pipeline.documents import digest_entries, failed_document, skipped_document
from pipeline.errors import CacheError, InputError, ProviderError, RequestTooLargeError, RetryExhaustedError
from pipeline.events import Event, EventLog
from pipeline.llm.base import Provider
from pipeline.llm.retry import RetryPolicy
from pipeline.models import Digest, Paper, PaperDocument, Usage
from pipeline.output.interrupts import interrupts_deferred
from pipeline.output.writer import output_dir, write_aggregates, write_paper
from pipeline.paper_job import process_paper
from pipeline.plan import Planner
from pipeline.reuse import ReuseIndex, reused_document
from pipeline.stages.base import StageSettings
from pipeline.stages.caller import ModelCaller
from pipeline.stages.job import RunContext
from pipeline.stages.registry import model_stages
from pipeline.summary import RunSummary, build_summary
from pipeline.validate.preload import start_loading


@dataclass
class RunResult:
    """What :func:`run_digest` returns: this run's ``documents``, the run summary as written to
    ``run.json`` (``summary_json``), the output folder and the run's events."""

    documents: list[PaperDocument]
    summary_json: dict[str, Any]
    out_dir: Path
    events: EventLog = field(repr=False, default_factory=EventLog)

    @property
    def summary(self) -> RunSummary:
        """``run.json`` as a :class:`~pipeline.summary.RunSummary`."""
        return RunSummary.model_validate(self.summary_json)


@dataclass
class FinishedRun:
    """A run whose papers are done, before its aggregates are written: what an
    :data:`AggregateUpdate` reads."""

    digest: Digest
    loaded: LoadedConfig
    ctx: RunContext
    accounting: Accounting
    documents: list[PaperDocument]
    out_dir: Path
    selection: str
    started: datetime
    wall: float


AggregateUpdate = Callable[[FinishedRun], tuple[list[PaperDocument], dict[str, Any]]]
"""``update(run) -> (entries, summary JSON)``: the documents ``digest.json`` and ``digest.en.md``
list, and the run summary ``run.json`` holds."""


def whole_day(run: FinishedRun) -> tuple[list[PaperDocument], dict[str, Any]]:
    """A run's aggregates: every paper of the digest (:func:`pipeline.documents.digest_entries`),
    content counted over them, activity over this run's papers; unreadable earlier paper files
    are named in the summary's warnings."""
    unreadable: list[str] = []
    entries = digest_entries(run.digest, run.documents, run.out_dir, run.ctx.run_id, run.selection, unreadable)
    summary = _built(run, entries)
    if unreadable:
        summary = summary.model_copy(update={"outputs_unreadable": len(unreadable),
                                             "warnings": [*summary.warnings, *unreadable]})
    return entries, summary.model_dump(mode="json")


def processed_only(run: FinishedRun) -> tuple[list[PaperDocument], dict[str, Any]]:
    """An eval variant's aggregates: only the papers this run processed."""
    return run.documents, _built(run, run.documents).model_dump(mode="json")


def _built(run: FinishedRun, entries: list[PaperDocument]) -> RunSummary:
    return build_summary(run.digest, run.loaded, run.ctx, run.documents, entries, run.ctx.caller.events,
                         run.started, run.wall, run.accounting)


def select_papers(digest: Digest, ids: list[str] | None, limit: int | None) -> list[Paper]:
    """Papers to process, in input order: those in ``ids`` (all must exist), then the first ``limit``."""
    papers = digest.papers
    if ids:
        known = {p.arxiv_id for p in papers}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(digest.path, f"no paper with id {', '.join(unknown)} in this digest")
        wanted = set(ids)
        papers = [p for p in papers if p.arxiv_id in wanted]
    return papers[:limit] if limit is not None else papers


def run_digest(digest: Digest, loaded: LoadedConfig, provider: Provider, cache: CacheStore, *,
               out_root: Path, ids: list[str] | None = None, limit: int | None = None,
               concurrency: int | None = None, events: EventLog | None = None,
               on_paper: Callable[[PaperDocument], None] | None = None,
               retry: RetryPolicy | None = None, force_stages: frozenset[str] = frozenset(),
               update: AggregateUpdate = whole_day, write_on_stop: bool = True,
               reuse: ReuseIndex | None = None) -> RunResult:
    """Process the selected papers of ``digest``, write each paper's file as it finishes, then the
    aggregates ``update`` decides (module docstring). ``force_stages``: stages whose cached
    replies are ignored (``rerun --from-stage``). ``reuse``: take a paper finished on an earlier
    day as it is (:mod:`pipeline.reuse`). When the run stops early (Ctrl-C, a full disk,
    a cache that cannot be written) the aggregates still describe the papers that finished, the
    rest listed as ``skipped`` (``stopped``), unless ``write_on_stop`` is False (a rerun rewrites
    nothing then); the error is raised again."""
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    start_loading()  # the checks' word tables, while the first requests are out
    events = events or EventLog()
    papers = select_papers(digest, ids, limit)
    ctx, accounting = run_context(loaded, provider, cache, events, retry=retry, force_stages=force_stages)
    out_dir = output_dir(out_root, digest.path)
    workers = max(concurrency or provider.max_concurrency, provider.min_workers)
    health = ProviderHealth(max(OUTAGE_PAPERS, workers))  # more than one wave of in-flight papers
    listener = events.listener
    events.listener = chain_listener(accounting.on_event, chain_listener(health.on_event, listener))
    results: dict[str, PaperDocument] = {}
    work = _PaperWork(ctx, accounting, out_dir, Path(digest.path).name, health, results, on_paper, reuse)
    try:
        events.emit(Event("run_started", "run", "", detail=str(len(papers))))
        _run_papers(papers, work, workers)
    except (KeyboardInterrupt, CacheError, OSError, ProviderError) as exc:  # Ctrl-C, a full disk, a bad key:
        # the aggregates describe what finished (a bad key at the first call finished nothing:
        # the previous aggregates, if any, stay as they were)
        if write_on_stop and (results or not isinstance(exc, ProviderError)):
            _write_stopped(update, FinishedRun(digest, loaded, ctx, accounting, _stopped(papers, results, ctx, exc),
                                               out_dir, _selection(ids, limit), started, time.perf_counter() - clock))
        raise
    finally:
        events.listener = listener
    documents = [results[p.arxiv_id] for p in papers]
    finished = FinishedRun(digest, loaded, ctx, accounting, documents, out_dir, _selection(ids, limit), started,
                           time.perf_counter() - clock)
    with interrupts_deferred():  # a Ctrl-C now stops the run after the aggregates, not half-way
        entries, summary_json = update(finished)
        write_aggregates(out_dir, digest, entries, summary_json)
    return RunResult(documents, summary_json, out_dir, events)


def _stopped(papers: list[Paper], results: dict[str, PaperDocument], ctx: RunContext,
             cause: BaseException) -> list[PaperDocument]:
    """The documents of a run that stopped: those finished, the rest ``skipped`` (``stopped``)."""
    why = "interrupted (Ctrl-C)" if isinstance(cause, KeyboardInterrupt) else str(cause)
    message = f"not processed: the run stopped ({why}); run again to finish it (work already done comes from the cache)"
    return [results.get(p.arxiv_id) or skipped_document(p, ctx.run_id, "stopped", message) for p in papers]


def _write_stopped(update: AggregateUpdate, run: FinishedRun) -> None:
    """Write the aggregates of a run that stopped, so that they describe the papers it finished.
    If they cannot be written either (the disk is still full), the previous ones stay as they
    were (every write is atomic) and the original error is what the user sees."""
    try:
        with interrupts_deferred():
            entries, summary_json = update(run)
            write_aggregates(run.out_dir, run.digest, entries, summary_json)
    except (CacheError, OSError):
        pass


def _selection(ids: list[str] | None, limit: int | None) -> str:
    parts = ([f"--ids {','.join(ids)}"] if ids else []) + ([f"--limit {limit}"] if limit is not None else [])
    return " ".join(parts) or "a selection"


def run_context(loaded: LoadedConfig, provider: Provider, cache: CacheStore, events: EventLog, *,
                retry: RetryPolicy | None = None, force_stages: frozenset[str] = frozenset(),
                planner: Planner | None = None) -> tuple[RunContext, Accounting]:
    """The per-run state every paper job shares (the declared stages, in order, with their
    settings), and the accounting that follows its events. ``planner``: plan mode."""
    config = loaded.config
    policy = retry or RetryPolicy(**config.retry.model_dump())
    caller = ModelCaller(provider, cache, events, policy, force_stages, planner=planner)
    stages = model_stages()
    settings = {stage.name: StageSettings.resolve(loaded, stage.name) for stage in stages}
    ctx = RunContext(caller, stages, settings, config.validation.max_repairs, uuid.uuid4().hex[:12],
                     fill_failed=config.validation.fill_failed_from_abstract)
    models = {name: s.model for name, s in settings.items()}
    return ctx, Accounting(config.prices, models, config.budget)


def chain_listener(first: Callable[[Event], None],
                   then: Callable[[Event], None] | None) -> Callable[[Event], None]:
    """A listener calling ``first`` then ``then`` (if any) with each event."""
    if then is None:
        return first

    def both(event: Event) -> None:
        first(event)
        then(event)
    return both


OUTAGE_PAPERS = 5
"""Papers in a row that failed because the provider did not answer, after which a run starts no
new paper (the rest are ``skipped``): a dead server should not cost every paper its retries.
A run with more workers waits for one failed paper per worker (papers in flight at the start of
a bad minute can all fail before any answer arrives)."""


class ProviderHealth:
    """Counts papers that failed on the provider since its last answer (thread-safe); see
    :data:`OUTAGE_PAPERS`. Any answered call (an ``executed`` event, :meth:`on_event`) resets
    the count, so a flaky provider that still answers some papers never stops the run, however
    the failures and successes interleave across workers."""

    def __init__(self, limit: int = OUTAGE_PAPERS) -> None:
        self.limit = limit
        self._failed_in_a_row = 0
        self._last_error = ""
        self._lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        """Event listener: an answered call resets the count."""
        if event.kind == "executed":
            with self._lock:
                self._failed_in_a_row = 0

    def record(self, error: str | None) -> None:
        """A paper finished: ``error`` is its provider failure, or None when it got its answers."""
        with self._lock:
            self._failed_in_a_row = self._failed_in_a_row + 1 if error else 0
            self._last_error = error or self._last_error

    def outage(self) -> str | None:
        """Why no new paper should start, or None."""
        with self._lock:
            if self._failed_in_a_row < self.limit:
                return None
            return f"the provider failed for the last {self._failed_in_a_row} papers in a row ({self._last_error})"


def _not_started(paper: Paper, ctx: RunContext, accounting: Accounting,
                 health: ProviderHealth | None) -> PaperDocument | None:
    """A ``skipped`` document when no new paper may start (budget reached, provider down), else None."""
    reason = accounting.budget_reached()
    if reason is not None:
        return skipped_document(paper, ctx.run_id, "budget", f"not processed: {reason}; run again with a higher "
                                "budget (work already done comes from the cache)")
    outage = health.outage() if health is not None else None
    if outage is not None:
        return skipped_document(paper, ctx.run_id, "provider", f"not processed: {outage}; run again once it "
                                "answers (work already done comes from the cache)")
    return None


def paper_document(paper: Paper, ctx: RunContext, accounting: Accounting,
                   health: ProviderHealth | None = None) -> PaperDocument:
    """Run one paper's DAG (a provider failure that outlasted retries gives a failed document),
    priced; or, once the budget is reached or the provider is down (``health``), a ``skipped``
    document and no model call."""
    skipped = _not_started(paper, ctx, accounting, health)
    if skipped is not None:
        return skipped
    try:
        document = process_paper(paper, ctx)
    except (RetryExhaustedError, RequestTooLargeError) as exc:  # outlasted retries / too long: this paper fails
        document = _with_spend(failed_document(paper, ctx.run_id, "provider", str(exc)), ctx,
                               accounting.executed_for(paper.arxiv_id))
        ctx.caller.events.emit(Event("paper_failed", "run", paper.arxiv_id, detail=str(exc)))
        if health is not None:  # a request too long for the model says nothing about an outage
            health.record(None if isinstance(exc, RequestTooLargeError) else str(exc))
    else:
        if health is not None:
            health.record(None)
    return price_document(document, accounting.prices, accounting.cached_for(paper.arxiv_id))


@dataclass
class _PaperWork:
    """What each paper of a run does: reuse an earlier day's result or run its DAG, write its
    file, record it for reuse, and report it. ``results`` collects the documents (so that what
    finished is known if the run stops)."""

    ctx: RunContext
    accounting: Accounting
    out_dir: Path
    digest_name: str
    health: ProviderHealth
    results: dict[str, PaperDocument]
    on_paper: Callable[[PaperDocument], None] | None = None
    reuse: ReuseIndex | None = None

    def __call__(self, paper: Paper) -> None:
        document = self._reused(paper) or paper_document(paper, self.ctx, self.accounting, self.health)
        written = write_paper(self.out_dir, document)
        if self.reuse is not None:
            self.reuse.record(paper, document, self.out_dir, self.digest_name, written)
        self.results[paper.arxiv_id] = document
        self.ctx.caller.events.emit(Event("paper_done", "run", paper.arxiv_id, detail=document.validation.status))
        if self.on_paper is not None:
            self.on_paper(document)

    def _reused(self, paper: Paper) -> PaperDocument | None:
        """An earlier day's finished document of the same paper and abstract, if it still passes."""
        found = self.reuse.find(paper, self.out_dir) if self.reuse is not None else None
        if found is None:
            return None
        earlier, origin, current = found
        document = reused_document(paper, earlier, origin, self.ctx.run_id, current)
        if document.validation.status not in ("ok", "repaired"):
            return None  # the checks changed since: processed anew
        self.ctx.caller.events.emit(Event("reused", "run", paper.arxiv_id, detail=origin.day))
        return price_document(document, self.accounting.prices)


def _run_papers(papers: list[Paper], work: _PaperWork, workers: int) -> None:
    """Process ``papers`` on ``workers`` threads (:class:`_PaperWork` each)."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(work, p) for p in papers]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:  # a permanent error (bad key, model): stop everything
                raise future.exception()  # type: ignore[misc]
    except BaseException:
        # A permanent error or Ctrl-C: start no other paper; the ones in progress finish and are
        # written (shutdown waits for them), so the next run resumes from the cache.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _with_spend(document: PaperDocument, ctx: RunContext, spent: dict[str, Usage]) -> PaperDocument:
    """``document`` with the usage of the calls its paper made before it failed, per stage, so
    that tokens and cost count every call made."""
    if not spent:
        return document
    stages = {name: ctx.provenance(name).model_copy(update={"usage": usage})
              for name, usage in spent.items() if name in ctx.settings}
    total = Usage()
    for usage in spent.values():
        total = total.add(usage)
    provenance = document.provenance.model_copy(update={"stages": stages, "usage": total})
    return document.model_copy(update={"provenance": provenance})
