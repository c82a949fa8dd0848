"""Batch answers are priced at the model's ``batch_discount``, counted once, by the run that uses
them; a warm re-run costs nothing. Runs the real stage code with the fake provider and answers
put into the cache round by round, as a batch engine's would be."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from support.eval_config import write_config
from support.paths import SEED

from pipeline.cache import UNREPORTED, MemoryCacheStore, put_reply
from pipeline.config import LoadedConfig, ModelPrice, load_config
from pipeline.cost import usage_cost
from pipeline.events import EventLog
from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import FakeProvider, template_responder
from pipeline.llm.retry import RetryPolicy
from pipeline.models import Usage
from pipeline.parse import parse_digest
from pipeline.plan import Planner, plan_papers
from pipeline.prompts import load_prompt
from pipeline.runner import RunResult, run_context, run_digest, select_papers
from pipeline.stages.caller import ModelCaller

IDS = ["2601.16272", "2601.16302"]
PRICE = {"prompt_per_1m": 0.15, "completion_per_1m": 0.6, "batch_discount": 0.5}


def _loaded(tmp_path: Path, price: dict | None = None) -> LoadedConfig:
    return load_config(write_config(tmp_path, extra={"prices": {"fake-model": price or PRICE}}))


def _answer_by_batch(loaded: LoadedConfig, cache: MemoryCacheStore) -> int:
    """Plan, answer every sendable request as a batch engine would, until nothing is left."""
    answered = 0
    while True:
        ctx, _ = run_context(loaded, FakeProvider(), cache, EventLog(), planner=Planner())
        plan = plan_papers(select_papers(parse_digest(SEED), IDS, None), ctx)
        if not plan.requests:
            return answered
        for planned in plan.sendable:
            usage = Usage(prompt_tokens=100, completion_tokens=40, calls=1)
            put_reply(cache, planned.cache_key, template_responder(planned.request), usage=usage, batch=True)
            answered += 1


def _run(loaded: LoadedConfig, cache: MemoryCacheStore, provider: FakeProvider, tmp_path: Path) -> RunResult:
    return run_digest(parse_digest(SEED), loaded, provider, cache, out_root=tmp_path / "out", ids=IDS)


def test_batch_answers_cost_the_discount_once_and_a_warm_rerun_nothing(tmp_path: Path) -> None:
    loaded, cache, provider = _loaded(tmp_path), MemoryCacheStore(), FakeProvider()
    answered = _answer_by_batch(loaded, cache)
    assert answered == 4 and all(cache.get(k)[UNREPORTED] for k in cache.keys())  # planning reports nothing
    first = _run(loaded, cache, provider, tmp_path)
    assert provider.requests == []  # every answer from the cache: no call
    executed = [e for e in first.events.events if e.kind == "executed"]
    assert len(executed) == 4 and all(e.batch for e in executed)  # a paper: its fields, its TL;DR
    full = usage_cost(Usage(prompt_tokens=4 * 100, completion_tokens=4 * 40), ModelPrice(**PRICE))
    summary = first.summary
    assert summary.model_calls == 4 and summary.cost == pytest.approx(full * 0.5)
    document = first.documents[0].provenance
    assert document.usage.batch_calls == document.usage.calls == 2
    assert document.cost == pytest.approx(usage_cost(document.usage, ModelPrice(**{**PRICE, "batch_discount": 1.0})) / 2)
    assert not any(cache.get(k).get(UNREPORTED) for k in cache.keys())
    warm = _run(loaded, cache, provider, tmp_path)
    assert warm.summary.model_calls == 0 and warm.summary.cache_hits == 4 and warm.summary.cost == 0
    assert warm.summary.cost_saved_by_cache == pytest.approx(full * 0.5)  # what the cache saved: batch calls
    assert provider.requests == []


def test_without_a_discount_batch_answers_cost_the_list_price(tmp_path: Path) -> None:
    loaded, cache = _loaded(tmp_path, {"prompt_per_1m": 0.15, "completion_per_1m": 0.6}), MemoryCacheStore()
    _answer_by_batch(loaded, cache)
    summary = _run(loaded, cache, FakeProvider(), tmp_path).summary
    assert summary.cost == pytest.approx((400 * 0.15 + 160 * 0.6) / 1e6)


def test_direct_and_batch_usage_are_priced_each_at_its_rate() -> None:
    price = ModelPrice(**PRICE)
    direct = Usage(prompt_tokens=1_000_000, completion_tokens=0, calls=1)
    batch = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, calls=1).as_batch()
    assert usage_cost(direct, price) == pytest.approx(0.15)
    assert usage_cost(batch, price) == pytest.approx(0.375)
    assert usage_cost(direct.add(batch), price) == pytest.approx(0.525)
    assert "batch_calls" not in direct.model_dump() and direct.add(batch).model_dump()["batch_calls"] == 1
    for bad in (0, 1.5, -0.1):
        with pytest.raises(ValidationError):
            ModelPrice(prompt_per_1m=1, completion_per_1m=1, batch_discount=bad)
    assert ModelPrice(prompt_per_1m=1, completion_per_1m=1).batch_discount == 1.0


def test_an_answer_is_reported_once_even_when_asked_twice_in_one_run(repo: Path) -> None:
    prompt = load_prompt(repo / "prompts" / "translate-chat.yaml")
    provider, store, events = FakeProvider(replies=["never sent"]), MemoryCacheStore(), EventLog()
    caller = ModelCaller(provider, store, events, RetryPolicy(max_attempts=1))
    variables = {"source": "你好", "field": "tldr", "field_label": "TL;DR", "title": "T"}
    request = prompt.render("m", variables)
    key = _key_of(caller, prompt, request)
    put_reply(store, key, "An English sentence.", usage=Usage(prompt_tokens=9, completion_tokens=4, calls=1), batch=True)
    results = [caller.call(stage="translate", stage_version="1", prompt=prompt, model="m", variables=variables,
                           paper_id=paper) for paper in ("a", "b")]
    assert [(r.cached, r.usage.batch_calls) for r in results] == [(False, 1), (True, 0)]
    assert [(e.kind, e.batch) for e in events.events] == [("executed", True), ("cache_hit", True)]
    assert provider.requests == [] and UNREPORTED not in store.get(key)


def _key_of(caller: ModelCaller, prompt, request: LLMRequest) -> str:
    from pipeline.cache import cache_key

    return cache_key(stage="translate", stage_version="1", prompt_hash=prompt.content_hash, provider=caller.provider.name,
                     model_identity=caller.provider.describe_model("m"), request=request)
