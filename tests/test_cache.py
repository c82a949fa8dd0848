"""Cache keys and the cached, evented model caller."""

from __future__ import annotations

from pathlib import Path

from pipeline.cache import DiskCacheStore, MemoryCacheStore, cache_key
from pipeline.events import EventLog
from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import FakeProvider
from pipeline.llm.retry import RetryPolicy
from pipeline.prompts import load_prompt
from pipeline.stages.caller import ModelCaller


def _key(**changes) -> str:
    base = dict(stage="translate", stage_version="1", prompt_hash="p1", provider="fake", model_identity="m",
                request=LLMRequest(kind="completion", model="m", prompt="hello"))
    return cache_key(**(base | changes))


def test_cache_key_changes_with_each_ingredient() -> None:
    keys = {
        _key(),
        _key(stage="resummarize"),
        _key(stage_version="2"),
        _key(prompt_hash="p2"),
        _key(provider="openai"),
        _key(model_identity="m2"),
        _key(request=LLMRequest(kind="completion", model="m", prompt="hello!")),
        _key(request=LLMRequest(kind="completion", model="m", prompt="hello", temperature=0.5)),
    }
    assert len(keys) == 8
    assert _key() == _key()


def test_tags_and_variables_do_not_enter_the_key() -> None:
    a = LLMRequest(kind="completion", model="m", prompt="hello", tags={"paper": "1"}, variables={"x": 1})
    b = LLMRequest(kind="completion", model="m", prompt="hello", tags={"paper": "2"})
    assert _key(request=a) == _key(request=b)


def test_caller_hits_cache_second_time_and_forces_when_asked(repo: Path) -> None:
    prompt = load_prompt(repo / "prompts" / "translate-chat.yaml")
    provider, store, events = FakeProvider(replies=["An English sentence."]), MemoryCacheStore(), EventLog()
    caller = ModelCaller(provider, store, events, RetryPolicy(max_attempts=1))
    variables = {"source": "你好", "field": "tldr", "field_label": "TL;DR", "title": "T"}
    first = caller.call(stage="translate", stage_version="1", prompt=prompt, model="m", variables=variables, paper_id="x")
    second = caller.call(stage="translate", stage_version="1", prompt=prompt, model="m", variables=variables, paper_id="x")
    assert (first.cached, second.cached) == (False, True)
    assert second.text == "An English sentence." and second.usage.calls == 0
    assert second.original_usage == first.usage and first.usage.calls == 1
    assert len(provider.requests) == 1
    forced = ModelCaller(provider, store, events, RetryPolicy(max_attempts=1), force_stages={"translate"})
    forced.call(stage="translate", stage_version="1", prompt=prompt, model="m", variables=variables, paper_id="x")
    assert len(provider.requests) == 2
    assert [e.kind for e in events.events] == ["executed", "cache_hit", "executed"]


def test_disk_store_survives_reopen(tmp_path: Path) -> None:
    store = DiskCacheStore(tmp_path / "c")
    store.set("k", {"text": "t"})
    store.close()
    again = DiskCacheStore(tmp_path / "c")
    assert again.get("k") == {"text": "t"}
    assert again.get("other") is None
    again.close()


def test_disk_store_trims_to_its_size_limit_on_close_not_on_each_set(tmp_path: Path) -> None:
    store = DiskCacheStore(tmp_path / "c")
    limit = store._cache.volume() + 600_000  # the empty database plus 15 of the 30 values
    store._cache.reset("size_limit", limit)
    big = "x" * 40_000  # above diskcache's 32 KB inline limit: each value is its own file
    for i in range(30):
        store.set(f"k{i}", {"text": big})
    assert store._cache.volume() > limit  # sets do not cull
    assert all(store.get(f"k{i}") is not None for i in range(30))
    store.close()
    again = DiskCacheStore(tmp_path / "c")
    assert again._cache.volume() <= limit
    assert again.get("k29") == {"text": big}  # the newest entries stay
    assert again.get("k0") is None  # the oldest went first
    again.close()
