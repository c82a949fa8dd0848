"""Run a whole digest: select papers, run each paper's DAG in a thread pool, write the outputs.

:func:`run_digest` is what ``digest-pipeline run`` calls. It returns a :class:`RunResult` (the
documents and the :class:`RunSummary` written to ``run.json``); the CLI only prints it.
A provider error that is not transient (bad key, unknown model) stops the run at once
(:class:`pipeline.errors.ProviderError`, exit 2); transient errors that outlast the retries
fail only that paper, which is still written with status ``failed``; after
:data:`OUTAGE_PAPERS` such papers in a row no new paper starts (the rest are ``skipped``).
Ctrl-C starts no new paper either; those in progress finish and are written.

``digest.json`` and ``digest.en.md`` list every paper of the digest, also after a ``--limit`` /
``--ids`` run (:func:`digest_entries`); ``run.json`` counts the processed ones.

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

from pydantic import BaseModel, Field

from pipeline import __version__
from pipeline.cache import CacheStore
from pipeline.config import LoadedConfig
from pipeline.cost import Accounting, BudgetState, Prices, StageUsage, price_document, usage_totals
from pipeline.errors import InputError, RetryExhaustedError
from pipeline.events import Event, EventLog
from pipeline.llm.base import Provider
from pipeline.llm.retry import RetryPolicy
from pipeline.models import (
    Digest,
    Paper,
    PaperDocument,
    ParseWarning,
    Provenance,
    Summary,
    Translation,
    Usage,
    Validation,
    ValidationIssue,
)
from pipeline.output.writer import output_dir, paper_path, write_aggregates, write_paper
from pipeline.paper_job import RunContext, process_paper
from pipeline.stages.caller import ModelCaller
from pipeline.stages.detect import detect_fields
from pipeline.stages.settings import StageSettings
from pipeline.validate.document import NOT_SELECTED, not_selected, summary_counts


class RunSummary(BaseModel):
    """The run manifest (``run.json``). Token counts are as reported by the provider."""

    run_id: str
    pipeline_version: str = __version__
    digest: str
    started_at: str
    config_hash: str
    provider: str
    models: dict[str, str]
    prompts: dict[str, str]
    papers: int
    papers_in_digest: int
    status_counts: dict[str, int]
    failures_per_check: dict[str, int] = Field(description="error issues per check after repair")
    failures_per_check_first_attempt: dict[str, int] = Field(
        default_factory=dict, description="error issues per check on every field's first answer, before any re-ask")
    model_calls: int = Field(description="calls executed by this run (rerun adds its own)")
    cache_hits: int = Field(description="calls this run served from the cache")
    retries: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None = Field(None, description="USD spent; unknown (a model without a price) is null, never 0")
    tokens_saved_by_cache: Usage = Field(default_factory=Usage,
                                         description="what the calls served from the cache cost when made")
    cost_saved_by_cache: float | None = Field(None, description="USD; null = unknown")
    usage_per_stage: dict[str, StageUsage] = Field(default_factory=dict)
    unpriced_models: list[str] = Field(default_factory=list, description="models with no entry in prices:")
    budget: BudgetState = Field(default_factory=BudgetState)
    carried_over: int = Field(0, description="papers not selected by this run (--limit/--ids) whose document "
                                             "from an earlier run is kept in digest.json")
    not_selected: int = Field(0, description="papers not selected by this run and never processed: in "
                                             "digest.json as skipped")
    wall_seconds: float
    parse_warnings: int
    records_skipped: int = Field(0, description="input records that could not be read as a paper (see warnings)")
    outputs_unreadable: int = Field(0, description="earlier runs' paper files that could not be read (see warnings)")
    warnings: list[str] = Field(default_factory=list, description="parse warnings, 'line N [id]: message'")
    reruns: list[dict] = Field(default_factory=list, description="single-paper re-runs since (digest-pipeline rerun)")


@dataclass
class RunResult:
    documents: list[PaperDocument]
    summary: RunSummary
    out_dir: Path
    events: EventLog = field(repr=False, default_factory=EventLog)


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
               whole_digest: bool = True) -> RunResult:
    """Process the selected papers of ``digest`` and write every output; see the module docstring.

    ``whole_digest``: ``digest.json`` and ``digest.en.md`` list every paper of the digest
    (:func:`digest_entries`) and the summary counts the processed ones among them; False (eval
    runs) lists only the papers this run processed."""
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    events = events or EventLog()
    papers = select_papers(digest, ids, limit)
    ctx, accounting = run_context(loaded, provider, cache, events, retry=retry, force_stages=force_stages)
    out_dir = output_dir(out_root, digest.path)
    workers = max(concurrency or provider.max_concurrency, provider.min_workers)
    health = ProviderHealth(max(OUTAGE_PAPERS, workers))  # more than one wave of in-flight papers
    listener = events.listener
    events.listener = chain_listener(accounting.on_event, chain_listener(health.on_event, listener))
    try:
        events.emit(Event("run_started", "run", "", detail=str(len(papers))))
        documents = _run_papers(papers, ctx, accounting, out_dir, workers, on_paper, health)
    finally:
        events.listener = listener
    unreadable: list[str] = []
    entries = (digest_entries(digest, documents, out_dir, ctx.run_id, _selection(ids, limit), unreadable)
               if whole_digest else documents)
    summary = _summary(digest, loaded, ctx, documents, entries, events, started, time.perf_counter() - clock,
                       accounting)
    if unreadable:
        summary = summary.model_copy(update={"outputs_unreadable": len(unreadable),
                                             "warnings": [*summary.warnings, *unreadable]})
    write_aggregates(out_dir, digest, entries, summary.model_dump(mode="json"))
    return RunResult(documents, summary, out_dir, events)


def _selection(ids: list[str] | None, limit: int | None) -> str:
    parts = ([f"--ids {','.join(ids)}"] if ids else []) + ([f"--limit {limit}"] if limit is not None else [])
    return " ".join(parts) or "a selection"


def digest_entries(digest: Digest, documents: list[PaperDocument], out_dir: Path, run_id: str,
                   selection: str, problems: list[str] | None = None) -> list[PaperDocument]:
    """Every paper of ``digest`` in input order, for ``digest.json`` and ``digest.en.md``: the
    documents this run made, and for a paper it did not select (``--limit`` / ``--ids``) the
    document an earlier run wrote to ``papers/`` (kept as it is), else a ``skipped`` document
    saying it was not processed. So a partial run never shrinks the day's aggregates and every
    paper of the input is accounted for. An earlier paper file that cannot be read is named in
    that document and appended to ``problems`` (one line each)."""
    made = {d.arxiv_id: d for d in documents}
    entries = []
    for paper in digest.papers:
        document, problem = (made[paper.arxiv_id], None) if paper.arxiv_id in made else \
            _earlier_document(out_dir, paper)
        if document is None:
            why = (f"its file from an earlier run is unreadable ({problem})" if problem
                   else f"not selected by this run ({selection})")
            document = _not_processed(paper, run_id, NOT_SELECTED,
                                      f"not processed: {why}; run with --ids {paper.arxiv_id} to process it")
            if problem and problems is not None:
                problems.append(f"{paper_path(out_dir, paper.arxiv_id)}: {problem}; listed as not processed")
        entries.append(document)
    return entries


def _earlier_document(out_dir: Path, paper: Paper) -> tuple[PaperDocument | None, str | None]:
    """The paper's document from an earlier run in ``out_dir`` (None when there is none, or it
    is another paper's), or why its file cannot be used."""
    from pipeline.validate.command import load_document  # late: validate imports the run's models

    path = paper_path(out_dir, paper.arxiv_id)
    if not path.is_file():
        return None, None
    try:
        document = load_document(path)[1]
    except InputError as exc:  # "not valid JSON: ... (line 1, column 2)", "not a valid paper document: ..."
        return None, exc.message
    if (document.arxiv_id, document.title) != (paper.arxiv_id, paper.title):
        return None, None  # from another digest with the same name: not this paper's
    return document, None


def run_context(loaded: LoadedConfig, provider: Provider, cache: CacheStore, events: EventLog, *,
                retry: RetryPolicy | None = None,
                force_stages: frozenset[str] = frozenset()) -> tuple[RunContext, Accounting]:
    """The per-run state every paper job shares, and the accounting that follows its events."""
    config = loaded.config
    policy = retry or RetryPolicy(**config.retry.model_dump())
    caller = ModelCaller(provider, cache, events, policy, force_stages)
    ctx = RunContext(caller, StageSettings.resolve(loaded, "translate"),
                     StageSettings.resolve(loaded, "resummarize"), config.validation.max_repairs,
                     uuid.uuid4().hex[:12], generate=StageSettings.resolve(loaded, "generate"))
    models = {s.name: s.model for s in ctx.stages}
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


def paper_document(paper: Paper, ctx: RunContext, accounting: Accounting,
                   health: ProviderHealth | None = None) -> PaperDocument:
    """Run one paper's DAG (a provider failure that outlasted retries gives a failed document),
    priced; or, once the budget is reached or the provider is down (``health``), a ``skipped``
    document and no model call."""
    events = ctx.caller.events
    reason = accounting.budget_reached()
    if reason is not None:
        return skipped_document(paper, ctx.run_id, reason)
    outage = health.outage() if health is not None else None
    if outage is not None:
        return skipped_document(paper, ctx.run_id, outage, check="provider",
                                advice="run again once it answers")
    try:
        document = process_paper(paper, ctx)
    except RetryExhaustedError as exc:  # transient trouble that outlasted retries: this paper fails
        document = _with_spend(failed_document(paper, ctx.run_id, "provider", str(exc)), ctx,
                               accounting.executed_for(paper.arxiv_id))
        events.emit(Event("paper_failed", "run", paper.arxiv_id, detail=str(exc)))
        if health is not None:
            health.record(str(exc))
    else:
        if health is not None:
            health.record(None)
    return price_document(document, accounting.prices, accounting.cached_for(paper.arxiv_id))


def _run_papers(papers: list[Paper], ctx: RunContext, accounting: Accounting, out_dir: Path, workers: int,
                on_paper: Callable[[PaperDocument], None] | None, health: ProviderHealth) -> list[PaperDocument]:
    results: dict[str, PaperDocument] = {}

    def job(paper: Paper) -> None:
        document = paper_document(paper, ctx, accounting, health)
        write_paper(out_dir, document)
        results[paper.arxiv_id] = document
        ctx.caller.events.emit(Event("paper_done", "run", paper.arxiv_id, detail=document.validation.status))
        if on_paper is not None:
            on_paper(document)

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(job, p) for p in papers]
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
    return [results[p.arxiv_id] for p in papers]


def _with_spend(document: PaperDocument, ctx: RunContext, spent: dict[str, Usage]) -> PaperDocument:
    """``document`` with the usage of the calls its paper made before it failed, per stage, so
    that tokens and cost count every call made."""
    if not spent:
        return document
    settings = {s.name: s for s in ctx.stages}
    stages = {name: ctx.provenance(settings[name]).model_copy(update={"usage": usage})
              for name, usage in spent.items() if name in settings}
    total = Usage()
    for usage in spent.values():
        total = total.add(usage)
    provenance = document.provenance.model_copy(update={"stages": stages, "usage": total})
    return document.model_copy(update={"provenance": provenance})


def failed_document(paper: Paper, run_id: str, check: str, message: str) -> PaperDocument:
    """A document for a paper whose pipeline could not finish: status failed, no invented text."""
    return PaperDocument(
        arxiv_id=paper.arxiv_id, url=paper.url, title=paper.title, authors=paper.authors,
        category=paper.category, abstract=paper.abstract,
        source=detect_fields(paper),
        extra=paper.extra, translation=Translation(), summary=Summary(),
        validation=Validation(status="failed", issues=[ValidationIssue(field="paper", check=check,
                                                                        severity="error", message=message)]),
        provenance=Provenance(pipeline_version=__version__, run_id=run_id))


def skipped_document(paper: Paper, run_id: str, reason: str, *, check: str = "budget",
                     advice: str = "run again with a higher budget") -> PaperDocument:
    """A document for a paper not processed (the budget was reached, or the provider is down):
    status skipped, one warning issue of ``check``."""
    return _not_processed(paper, run_id, check,
                          f"not processed: {reason}; {advice} (work already done comes from the cache)")


def _not_processed(paper: Paper, run_id: str, check: str, message: str) -> PaperDocument:
    """A ``skipped`` document for a paper no model worked on: one warning issue of ``check``."""
    document = failed_document(paper, run_id, check, message)
    issue = document.validation.issues[0].model_copy(update={"severity": "warning"})
    return document.model_copy(update={"validation": Validation(status="skipped", issues=[issue])})


def content_fields(documents: list[PaperDocument], prices: Prices) -> dict[str, Any]:
    """The run-summary fields computed from the documents alone (what ``rerun`` recomputes):
    paper and status counts, failures per check, tokens and cost spent and saved, per stage.
    Entries for papers no run selected are not counted, only numbered (``not_selected``)."""
    counts = summary_counts([d.validation for d in documents])
    documents = [d for d in documents if not not_selected(d.validation)]
    totals = usage_totals(documents, prices)
    return dict(
        papers=len(documents), **counts,
        prompt_tokens=totals.usage.prompt_tokens, completion_tokens=totals.usage.completion_tokens,
        cost=totals.cost, tokens_saved_by_cache=totals.tokens_saved_by_cache,
        cost_saved_by_cache=totals.cost_saved_by_cache, usage_per_stage=totals.usage_per_stage,
        unpriced_models=totals.unpriced_models)


def _summary(digest: Digest, loaded: LoadedConfig, ctx: RunContext, documents: list[PaperDocument],
             entries: list[PaperDocument], events: EventLog, started: datetime, wall: float,
             accounting: Accounting) -> RunSummary:
    """The run manifest: content counts over ``entries`` (what ``digest.json`` lists), budget and
    activity over ``documents`` (what this run processed)."""
    stages = ctx.stages
    skipped = [d for d in documents if d.validation.status == "skipped"
               and any(i.check == "budget" for i in d.validation.issues)]
    content = content_fields(entries, loaded.config.prices)
    budget = loaded.config.budget
    priced = all(m in loaded.config.prices for m in accounting.stage_models.values())
    state = BudgetState(max_cost=budget.max_cost, max_tokens=budget.max_tokens,
                        spent_cost=round(accounting.spent_cost, 9) if priced else None,
                        spent_tokens=accounting.spent.prompt_tokens + accounting.spent.completion_tokens,
                        reached=accounting.budget_reached() if skipped else None, skipped=len(skipped))
    return RunSummary(
        run_id=ctx.run_id, digest=Path(digest.path).name, started_at=started.isoformat(timespec="seconds"),
        config_hash=loaded.config.digest(), provider=ctx.caller.provider.name,
        models={s.name: s.model for s in stages},
        prompts={s.name: f"{s.prompt.name}@{s.prompt.short_hash}" for s in stages},
        papers_in_digest=len(digest.papers), **content,
        carried_over=content["papers"] - len(documents),
        model_calls=events.count("executed"), cache_hits=events.count("cache_hit"), retries=events.count("retried"),
        budget=state, wall_seconds=round(wall, 3), parse_warnings=len(digest.warnings),
        records_skipped=sum(w.skipped for w in digest.warnings),
        warnings=[_warning_line(w) for w in digest.warnings])


def _warning_line(warning: ParseWarning) -> str:
    where = f"line {warning.line}" if warning.line else "file"
    paper = f" [{warning.paper_id}]" if warning.paper_id else ""
    return f"{where}{paper}: {warning.message}"
