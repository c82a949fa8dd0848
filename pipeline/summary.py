"""The run manifest (``run.json``): what a run did and what its outputs hold.

:class:`RunSummary` is written as ``run.json`` and as ``digest.json``'s ``run``. Its content counts
(statuses, failures per check, tokens and cost, spent and saved by the cache) are computed from the
documents the day lists (:func:`content_fields`), so that ``rerun`` and ``validate`` can recompute
them for outputs as they now are; its activity counters (calls, cache hits, retries, wall time,
budget) describe one run.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from pipeline import __version__
from pipeline.config import LoadedConfig
from pipeline.cost import Accounting, BudgetState, Prices, StageUsage, usage_totals
from pipeline.events import EventLog
from pipeline.models import Digest, PaperDocument, ParseWarning, Usage
from pipeline.publish.datafile import left_out_keys
from pipeline.stages.base import StageSettings
from pipeline.stages.job import RunContext
from pipeline.stages.registry import model_stages
from pipeline.validate.document import not_selected, summary_counts


class RunSummary(BaseModel):
    """The run manifest (``run.json``). Token counts are as reported by the provider."""

    run_id: str
    pipeline_version: str = __version__
    digest: str
    digest_fingerprint: str | None = Field(
        None, description="sha256 of the digest's paper ids in input order: rerun refuses another digest")
    input_sha256: str | None = Field(None, description="sha256 of the digest file's bytes: a multi-day run "
                                                       "skips a day whose file, config and prompts are unchanged")
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
    reused: int = Field(0, description="papers this run took from an earlier day's output (same paper, same "
                                       "abstract; no model call): provenance.reused_from names the day")
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
    english_left_out: dict[str, int] = Field(
        default_factory=dict, description="input keys left out of the English data file (text in another "
                                          "language: 'AI.<key>' or a top-level key), papers per key")


def digest_fingerprint(digest: Digest) -> str:
    """What identifies a digest's day: the sha256 of its paper ids in input order (a digest whose
    abstracts were revised keeps it; another day, or a file of the same name with other papers,
    does not)."""
    return hashlib.sha256("\n".join(p.arxiv_id for p in digest.papers).encode()).hexdigest()


def _prompt_ids(settings: list[StageSettings]) -> dict[str, str]:
    return {s.name: f"{s.prompt.name}@{s.prompt.short_hash}" for s in settings}


def prompt_ids(loaded: LoadedConfig) -> dict[str, str]:
    """``{stage: "<prompt name>@<short hash>"}`` of every declared stage, as ``run.json``'s ``prompts``."""
    return _prompt_ids([StageSettings.resolve(loaded, stage.name) for stage in model_stages()])


def file_sha256(path: Path) -> str | None:
    """sha256 of the file at ``path``'s bytes; None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


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


def build_summary(digest: Digest, loaded: LoadedConfig, ctx: RunContext, documents: list[PaperDocument],
                  entries: list[PaperDocument], events: EventLog, started: datetime, wall: float,
                  accounting: Accounting) -> RunSummary:
    """The run manifest: content counts over ``entries`` (what ``digest.json`` lists), budget and
    activity over ``documents`` (what this run processed)."""
    settings = [ctx.settings[stage.name] for stage in ctx.stages]
    skipped = [d for d in documents if d.validation.skip_reason == "budget"]
    content = content_fields(entries, loaded.config.prices)
    budget = loaded.config.budget
    priced = all(m in loaded.config.prices for m in accounting.stage_models.values())
    state = BudgetState(max_cost=budget.max_cost, max_tokens=budget.max_tokens,
                        spent_cost=round(accounting.spent_cost, 9) if priced else None,
                        spent_tokens=accounting.spent.prompt_tokens + accounting.spent.completion_tokens,
                        reached=accounting.budget_reached() if skipped else None, skipped=len(skipped))
    return RunSummary(
        run_id=ctx.run_id, digest=Path(digest.path).name, digest_fingerprint=digest_fingerprint(digest),
        input_sha256=file_sha256(Path(digest.path)), reused=events.count("reused"), started_at=started.isoformat(timespec="seconds"),
        config_hash=loaded.config.digest(), provider=ctx.caller.provider.name,
        models={s.name: s.model for s in settings},
        prompts=_prompt_ids(settings),
        papers_in_digest=len(digest.papers), **content,
        carried_over=content["papers"] - len(documents),
        model_calls=events.count("executed"), cache_hits=events.count("cache_hit"), retries=events.count("retried"),
        budget=state, wall_seconds=round(wall, 3), parse_warnings=len(digest.warnings),
        records_skipped=sum(w.skipped for w in digest.warnings),
        warnings=[_warning_line(w) for w in digest.warnings], english_left_out=left_out_keys(digest))


def _warning_line(warning: ParseWarning) -> str:
    where = f"line {warning.line}" if warning.line else "file"
    paper = f" [{warning.paper_id}]" if warning.paper_id else ""
    return f"{where}{paper}: {warning.message}"
