"""``digest-pipeline run --dry-run``: how many model calls, tokens and dollars a run would take.

No model is called and nothing is written: the selected papers are planned
(:mod:`pipeline.plan`), through the real stage code, against the real stage cache (read only).
A call the cache already holds counts as ``cached`` (free), exactly as the run would see it (the
configured provider is built for its name and model identities, so the cache keys match); every
other call, sendable now or depending on an answer not known yet, is counted with **prompt tokens
= ASCII characters / 4 + one per other character (CJK...) + 4 per chat message** (the rate
limiter's :func:`~pipeline.llm.ratelimit.estimate_tokens`) and **completion tokens = the request's
``max_tokens``**, an upper bound; cost is those tokens at the config's ``prices``, so an upper
bound too (``unknown`` without a price).

Validation re-asks are not included (stand-in answers pass the checks): a real run may add up to
``validation.max_repairs`` calls per field that fails. Calls that depend on an earlier answer
(the re-summary reads the translation) count as cached only when the earlier calls were cached too.
"""

from __future__ import annotations


from pydantic import BaseModel, Field

from pipeline.cache import CacheStore, MemoryCacheStore
from pipeline.config import LoadedConfig
from pipeline.cost import add_costs, usage_cost
from pipeline.events import EventLog
from pipeline.llm.base import Provider
from pipeline.models import Digest, Usage
from pipeline.plan import IdentityProvider, Planner, plan_papers
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


def estimate_run(digest: Digest, loaded: LoadedConfig, *, provider: Provider | None, cache: CacheStore | None,
                 ids: list[str] | None = None, limit: int | None = None,
                 notes: list[str] | None = None) -> Estimate:
    """Estimate the run of ``digest`` (see the module docstring). ``provider`` is the configured
    provider, used only for its name and model identities (None: cache keys may not match, and
    the cache is not consulted); ``cache`` the real stage cache, only read (plan mode writes
    nothing)."""
    notes = list(notes or [])
    papers = select_papers(digest, ids, limit)
    events = EventLog()
    identity = provider if provider is not None else IdentityProvider(loaded.config.provider)
    readable = cache if cache is not None and provider is not None else MemoryCacheStore()
    ctx, accounting = run_context(loaded, identity, readable, events, planner=Planner())
    plan_papers(papers, ctx)
    prices = loaded.config.prices
    rows = []
    for stage, model in accounting.stage_models.items():
        spent = Usage()
        for event in events.events:
            if event.kind == "planned" and event.stage == stage:
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
