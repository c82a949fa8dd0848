"""``digest-pipeline run --dry-run``: how many model calls, tokens and dollars a run would take.

No model is called and nothing is written. The selected papers go through the real stage code
(:func:`pipeline.paper_job.process_paper`) with a stand-in provider and a read-only view of the
stage cache:

- a call the cache already holds counts as ``cached`` (free), exactly as the run would see it
  (the stand-in keeps the real provider's name and model identity, so the cache keys match);
- any other call is answered by the stand-in (:func:`pipeline.llm.fake.template_responder`, an
  English text of plausible length that passes validation) and counted with **prompt tokens =
  ASCII characters / 4 + one per other character (CJK...) + 4 per chat message** (the rate
  limiter's :func:`~pipeline.llm.ratelimit.estimate_tokens`) and **completion tokens = the
  request's ``max_tokens``**, an upper bound; cost is those tokens at the config's ``prices``, so an upper
  bound too (``unknown`` without a price).

Validation re-asks are not included (stand-in answers pass the checks): a real run may add up to
``validation.max_repairs`` calls per field that fails. Calls that depend on an earlier answer
(the re-summary reads the translation) count as cached only when the earlier calls were cached too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from pipeline.cache import CacheStore, MemoryCacheStore
from pipeline.config import LoadedConfig
from pipeline.cost import add_costs, usage_cost
from pipeline.events import EventLog
from pipeline.llm.base import LLMRequest, LLMResponse, Provider
from pipeline.llm.fake import template_responder
from pipeline.llm.ratelimit import estimate_tokens
from pipeline.models import Digest, Usage
from pipeline.paper_job import process_paper
from pipeline.runner import run_context, select_papers


class EstimateRow(BaseModel):
    """One stage (or the total): calls needed, how many the cache holds, tokens and cost of the rest."""

    stage: str
    model: str
    calls: int = Field(description="model calls the run would make (not in the cache)")
    cached: int = Field(description="calls the cache already holds (free)")
    prompt_tokens: int = Field(description="estimated: ASCII characters / 4 + 1 per other character")
    completion_tokens: int = Field(description="upper bound: the requests' max_tokens")
    cost: float | None = Field(description="USD upper bound; null = unknown (no price)")


class Estimate(BaseModel):
    """What ``run --dry-run`` prints (``--json``: this as JSON)."""

    digest: str
    papers: int
    stages: list[EstimateRow]
    total: EstimateRow
    method: str = ("prompt tokens = rendered prompt ASCII characters / 4 + 1 per other character (CJK...) "
                   "+ 4 per chat message; completion tokens = max_tokens of each "
                   "request (upper bound); cost = those tokens at prices: (upper bound)")
    notes: list[str] = Field(default_factory=list)


class _StandIn(Provider):
    """Answers every request with a plausible English stand-in and estimated usage; keeps the real
    provider's ``name`` and model identity (cache keys) when one is given."""

    max_concurrency = 1

    def __init__(self, real: Provider | None, name: str) -> None:
        self._real = real
        self.name = real.name if real is not None else name

    def describe_model(self, model: str) -> str:
        return self._real.describe_model(model) if self._real is not None else model

    def complete(self, request: LLMRequest) -> LLMResponse:
        return LLMResponse(text=template_responder(request), finish_reason="stop",
                           prompt_tokens=estimate_tokens(request) - request.max_tokens,
                           completion_tokens=request.max_tokens, model=request.model)


class _ReadOnlyCache:
    """Reads through to the real cache; what the dry run "stores" stays in memory."""

    def __init__(self, real: CacheStore | None) -> None:
        self._real = real
        self._local = MemoryCacheStore()

    def get(self, key: str) -> dict[str, Any] | None:
        found = self._local.get(key)
        if found is None and self._real is not None:
            found = self._real.get(key)
        return found

    def set(self, key: str, value: dict[str, Any]) -> None:
        self._local.set(key, value)

    def close(self) -> None:
        pass


def estimate_run(digest: Digest, loaded: LoadedConfig, *, provider: Provider | None, cache: CacheStore | None,
                 ids: list[str] | None = None, limit: int | None = None,
                 notes: list[str] | None = None) -> Estimate:
    """Estimate the run of ``digest`` (see the module docstring). ``provider`` is the configured
    provider, used only for its name and model identities (None: cache keys may not match, and
    the cache is not consulted); ``cache`` the real stage cache, only read."""
    notes = list(notes or [])
    papers = select_papers(digest, ids, limit)
    events = EventLog()
    stand_in = _StandIn(provider, loaded.config.provider)
    ctx, accounting = run_context(loaded, stand_in, _ReadOnlyCache(cache if provider is not None else None), events)
    for paper in papers:
        process_paper(paper, ctx)
    prices = loaded.config.prices
    rows = []
    for stage, model in accounting.stage_models.items():
        spent = Usage()
        for event in events.events:
            if event.kind == "executed" and event.stage == stage:
                prompt, completion = event.tokens or (0, 0)
                spent = spent.add(Usage(prompt_tokens=prompt, completion_tokens=completion, calls=1))
        cached = events.count("cache_hit", stage)
        rows.append(EstimateRow(stage=stage, model=model, calls=spent.calls, cached=cached,
                                prompt_tokens=spent.prompt_tokens, completion_tokens=spent.completion_tokens,
                                cost=usage_cost(spent, prices.get(model))))
    total = EstimateRow(stage="total", model="", calls=sum(r.calls for r in rows), cached=sum(r.cached for r in rows),
                        prompt_tokens=sum(r.prompt_tokens for r in rows),
                        completion_tokens=sum(r.completion_tokens for r in rows),
                        cost=add_costs(r.cost for r in rows))
    unpriced = sorted({r.model for r in rows if r.cost is None})
    if unpriced:
        notes.append(f"cost unknown: no price for {', '.join(unpriced)} (add prices: to the config)")
    if loaded.config.validation.max_repairs:
        notes.append(f"validation re-asks not included: a field that fails its checks costs up to "
                     f"{loaded.config.validation.max_repairs} more call(s)")
    return Estimate(digest=digest.path, papers=len(papers), stages=rows, total=total, notes=notes)


__all__ = ["Estimate", "EstimateRow", "estimate_run"]
