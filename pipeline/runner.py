"""Run a whole digest: select papers, run each paper's DAG in a thread pool, write the outputs.

:func:`run_digest` is what ``digest-pipeline run`` calls. It returns a :class:`RunResult` (the
documents and the :class:`RunSummary` written to ``run.json``); the CLI only prints it.
A provider error that is not transient (bad key, unknown model) stops the run at once
(:class:`pipeline.errors.ProviderError`, exit 2); transient errors that outlast the retries
fail only that paper, which is still written with status ``failed``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline import __version__
from pipeline.cache import CacheStore
from pipeline.config import LoadedConfig
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
from pipeline.output.writer import output_dir, write_aggregates, write_paper
from pipeline.paper_job import RunContext, process_paper
from pipeline.stages.caller import ModelCaller
from pipeline.stages.detect import detect_fields
from pipeline.stages.settings import StageSettings
from pipeline.validate.document import failures_per_check, first_attempt_failures, status_counts


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
    model_calls: int
    cache_hits: int
    retries: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None = Field(None, description="unknown (no price table) is null, never 0")
    wall_seconds: float
    parse_warnings: int
    warnings: list[str] = Field(default_factory=list, description="parse warnings, 'line N [id]: message'")


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
               retry: RetryPolicy | None = None, force_stages: frozenset[str] = frozenset()) -> RunResult:
    """Process the selected papers of ``digest`` and write every output; see the module docstring."""
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    events = events or EventLog()
    papers = select_papers(digest, ids, limit)
    config = loaded.config
    policy = retry or RetryPolicy(**config.retry.model_dump())
    caller = ModelCaller(provider, cache, events, policy, force_stages)
    ctx = RunContext(caller, StageSettings.resolve(loaded, "translate"),
                     StageSettings.resolve(loaded, "resummarize"), config.validation.max_repairs,
                     uuid.uuid4().hex[:12], generate=StageSettings.resolve(loaded, "generate"))
    out_dir = output_dir(out_root, digest.path)
    events.emit(Event("run_started", "run", "", detail=str(len(papers))))
    documents = _run_papers(papers, ctx, out_dir, concurrency or provider.max_concurrency, on_paper)
    summary = _summary(digest, loaded, ctx, documents, events, started, time.perf_counter() - clock)
    write_aggregates(out_dir, digest, documents, summary.model_dump(mode="json"))
    return RunResult(documents, summary, out_dir, events)


def _run_papers(papers: list[Paper], ctx: RunContext, out_dir: Path, workers: int,
                on_paper: Callable[[PaperDocument], None] | None) -> list[PaperDocument]:
    results: dict[str, PaperDocument] = {}

    def job(paper: Paper) -> None:
        try:
            document = process_paper(paper, ctx)
        except RetryExhaustedError as exc:  # transient trouble that outlasted retries: this paper fails
            document = failed_document(paper, ctx.run_id, "provider", str(exc))
            ctx.caller.events.emit(Event("paper_failed", "run", paper.arxiv_id, detail=str(exc)))
        write_paper(out_dir, document)
        results[paper.arxiv_id] = document
        ctx.caller.events.emit(Event("paper_done", "run", paper.arxiv_id, detail=document.validation.status))
        if on_paper is not None:
            on_paper(document)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(job, p) for p in papers]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:  # a permanent error (bad key, model): stop everything
                for other in pending:
                    other.cancel()
                raise future.exception()  # type: ignore[misc]
    return [results[p.arxiv_id] for p in papers]


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


def _summary(digest: Digest, loaded: LoadedConfig, ctx: RunContext, documents: list[PaperDocument],
             events: EventLog, started: datetime, wall: float) -> RunSummary:
    usage = Usage()
    for doc in documents:
        usage = usage.add(doc.provenance.usage)
    validations = [d.validation for d in documents]
    stages = [s for s in (ctx.translate, ctx.resummarize, ctx.generate) if s is not None]
    return RunSummary(
        run_id=ctx.run_id, digest=Path(digest.path).name, started_at=started.isoformat(timespec="seconds"),
        config_hash=loaded.config.digest(), provider=ctx.caller.provider.name,
        models={s.name: s.model for s in stages},
        prompts={s.name: f"{s.prompt.name}@{s.prompt.short_hash}" for s in stages},
        papers=len(documents), papers_in_digest=len(digest.papers),
        status_counts=status_counts(validations), failures_per_check=failures_per_check(validations),
        failures_per_check_first_attempt=first_attempt_failures(validations), model_calls=events.count("executed"),
        cache_hits=events.count("cache_hit"), retries=events.count("retried"),
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        wall_seconds=round(wall, 3), parse_warnings=len(digest.warnings),
        warnings=[_warning_line(w) for w in digest.warnings])


def _warning_line(warning: ParseWarning) -> str:
    where = f"line {warning.line}" if warning.line else "file"
    paper = f" [{warning.paper_id}]" if warning.paper_id else ""
    return f"{where}{paper}: {warning.message}"
