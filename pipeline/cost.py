"""Tokens and money: pricing a document's usage, what the cache saved, and the run's budget.

Prices come from ``config.yaml`` (``prices: {MODEL: {prompt_per_1m, completion_per_1m,
batch_discount}}``, USD per million tokens; answers from a provider's batch engine, the
``batch_*`` part of a :class:`~pipeline.models.Usage`, cost ``batch_discount`` times as much).
A model with no price has an *unknown* cost: ``None`` in every document and summary (``null``
in JSON, "unknown" on screen), never 0 — a run on a free local model is priced by giving it a
price of 0.

Usage is what a run spent (cache hits cost nothing); ``cached_usage`` what the calls served from
the cache cost when they were made, i.e. what the cache saved. :class:`Accounting` follows a run's
events (``executed``/``cache_hit`` carry the call's tokens) to attribute cache savings to papers
and stages and to enforce ``budget.max_cost`` / ``budget.max_tokens``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from pipeline.config import BudgetConfig, ModelPrice
from pipeline.events import Event
from pipeline.models import PaperDocument, Usage

Prices = Mapping[str, ModelPrice]


def usage_cost(usage: Usage, price: ModelPrice | None) -> float | None:
    """USD of ``usage`` at ``price``, its batch-engine part (``usage.batch_*``) at the price's
    ``batch_discount``; None when the price is unknown."""
    if price is None:
        return None
    prompt, completion = price.prompt_per_1m, price.completion_per_1m
    direct = (usage.prompt_tokens - usage.batch_prompt_tokens) * prompt \
        + (usage.completion_tokens - usage.batch_completion_tokens) * completion
    batch = (usage.batch_prompt_tokens * prompt + usage.batch_completion_tokens * completion) * price.batch_discount
    return round((direct + batch) / 1e6, 9)


def add_costs(costs: Iterable[float | None]) -> float | None:
    """The sum, or None when any part is unknown (or there is no part)."""
    total, seen = 0.0, False
    for cost in costs:
        if cost is None:
            return None
        total, seen = total + cost, True
    return round(total, 9) if seen else None


def format_cost(cost: float | None) -> str:
    """``$0.0123`` (4 significant digits below a cent), or ``unknown``."""
    if cost is None:
        return "unknown"
    if cost == 0:
        return "$0"
    return f"${cost:.4f}" if cost >= 0.01 else f"${cost:.4g}"


def price_document(document: PaperDocument, prices: Prices,
                   cached: Mapping[str, Usage] | None = None) -> PaperDocument:
    """``document`` with each model stage's ``cached_usage`` (from ``cached``, stage -> usage) and
    ``cost``, and the provenance totals; stages without a model (``detect``) are left alone."""
    cached = cached or {}
    provenance = document.provenance
    stages = {}
    for name, stage in provenance.stages.items():
        if stage.model is None:
            stages[name] = stage
            continue
        price = prices.get(stage.model)
        stage_cached = cached.get(name, stage.cached_usage)
        stages[name] = stage.model_copy(update={"cached_usage": stage_cached, "cost": usage_cost(stage.usage, price)})
    modelled = [s for s in stages.values() if s.model is not None]
    cached_total = Usage()
    for stage in modelled:
        cached_total = cached_total.add(stage.cached_usage)
    update = {
        "stages": stages,
        "cached_usage": cached_total,
        "cost": add_costs(s.cost for s in modelled),
        "cost_saved_by_cache": add_costs(usage_cost(s.cached_usage, prices.get(s.model or "")) for s in modelled),
    }
    return document.model_copy(update={"provenance": provenance.model_copy(update=update)})


class StageUsage(BaseModel):
    """One stage over a run's papers: model(s), tokens spent and saved, and their cost."""

    models: list[str] = Field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    cached_calls: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    cost_saved_by_cache: float | None = None


class UsageTotals(BaseModel):
    """What a set of documents spent and saved, per stage and in all (see :func:`usage_totals`)."""

    usage: Usage
    cost: float | None
    tokens_saved_by_cache: Usage
    cost_saved_by_cache: float | None
    usage_per_stage: dict[str, StageUsage]
    unpriced_models: list[str]


def usage_totals(documents: Iterable[PaperDocument], prices: Prices) -> UsageTotals:
    """Sum the documents' provenance (their stages' ``usage`` and ``cached_usage``) and price it.

    A cost is None (unknown) when any model that made or served a call has no price.
    """
    spent, saved = Usage(), Usage()
    per_stage: dict[str, StageUsage] = {}
    costs: dict[str, list[float | None]] = {}
    savings: dict[str, list[float | None]] = {}
    unpriced: set[str] = set()
    for doc in documents:
        for name, stage in doc.provenance.stages.items():
            if stage.model is None:
                continue
            row = per_stage.setdefault(name, StageUsage())
            if stage.model not in row.models:
                row.models.append(stage.model)
            row.calls += stage.usage.calls
            row.prompt_tokens += stage.usage.prompt_tokens
            row.completion_tokens += stage.usage.completion_tokens
            row.cached_calls += stage.cached_usage.calls
            row.cached_prompt_tokens += stage.cached_usage.prompt_tokens
            row.cached_completion_tokens += stage.cached_usage.completion_tokens
            spent, saved = spent.add(stage.usage), saved.add(stage.cached_usage)
            price = prices.get(stage.model)
            if price is None:
                unpriced.add(stage.model)
            costs.setdefault(name, []).append(usage_cost(stage.usage, price))
            savings.setdefault(name, []).append(usage_cost(stage.cached_usage, price))
    for name, row in per_stage.items():
        row.cost, row.cost_saved_by_cache = add_costs(costs[name]), add_costs(savings[name])
    return UsageTotals(
        usage=spent, cost=add_costs(r.cost for r in per_stage.values()) if per_stage else _zero_if_priced(prices),
        tokens_saved_by_cache=saved,
        cost_saved_by_cache=add_costs(r.cost_saved_by_cache for r in per_stage.values())
        if per_stage else _zero_if_priced(prices),
        usage_per_stage=per_stage, unpriced_models=sorted(unpriced))


def _zero_if_priced(prices: Prices) -> float | None:
    """The cost of no model calls: 0 when a price table exists, else unknown."""
    return 0.0 if prices else None


class Accounting:
    """Follows a run's events: cache savings per paper and stage, spend against the budget.

    ``stage_models`` maps a model stage to the model it runs (the price used for its calls).
    Thread-safe; :meth:`on_event` is chained in front of the run's event listener.
    """

    def __init__(self, prices: Prices, stage_models: Mapping[str, str], budget: BudgetConfig | None = None) -> None:
        self.prices = prices
        self.stage_models = dict(stage_models)
        self.budget = budget or BudgetConfig()
        self.spent = Usage()
        self.spent_cost = 0.0
        self._cached: dict[str, dict[str, Usage]] = {}
        self._executed: dict[str, dict[str, Usage]] = {}
        self._lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        if event.kind not in ("executed", "cache_hit"):
            return
        prompt, completion = event.tokens or (0, 0)
        usage = Usage(prompt_tokens=prompt, completion_tokens=completion, calls=1)
        usage = usage.as_batch() if event.batch else usage
        with self._lock:
            if event.kind == "cache_hit":
                stages = self._cached.setdefault(event.paper_id, {})
                stages[event.stage] = stages.get(event.stage, Usage()).add(usage)
            else:
                stages = self._executed.setdefault(event.paper_id, {})
                stages[event.stage] = stages.get(event.stage, Usage()).add(usage)
                self.spent = self.spent.add(usage)
                cost = usage_cost(usage, self.prices.get(self.stage_models.get(event.stage, "")))
                self.spent_cost += cost or 0.0

    def executed_for(self, paper_id: str) -> dict[str, Usage]:
        """Stage -> what the calls ``paper_id`` made in this run cost (for a paper whose document
        could not be finished, so that its spend is still counted)."""
        with self._lock:
            return dict(self._executed.get(paper_id, {}))

    def cached_for(self, paper_id: str) -> dict[str, Usage]:
        """Stage -> what the calls of ``paper_id`` served from the cache cost when made."""
        with self._lock:
            return dict(self._cached.get(paper_id, {}))

    def budget_reached(self) -> str | None:
        """Why no new paper may start (the limit and the spend), or None while within budget."""
        with self._lock:
            tokens = self.spent.prompt_tokens + self.spent.completion_tokens
            cost = self.spent_cost
        limit = self.budget
        if limit.max_cost is not None and cost >= limit.max_cost:
            return f"budget.max_cost {format_cost(limit.max_cost)} reached ({format_cost(round(cost, 9))} spent)"
        if limit.max_tokens is not None and tokens >= limit.max_tokens:
            return f"budget.max_tokens {limit.max_tokens} reached ({tokens} tokens spent)"
        return None


class BudgetState(BaseModel):
    """The run's budget in ``run.json``: limits, what the run spent, whether it stopped early."""

    max_cost: float | None = None
    max_tokens: int | None = None
    spent_cost: float | None = None
    spent_tokens: int = 0
    reached: str | None = Field(None, description="why papers were skipped; null = budget not reached")
    skipped: int = 0
