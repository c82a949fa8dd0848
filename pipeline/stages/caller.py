"""One cached, retried model call: the only way stages talk to a provider.

:class:`ModelCaller` renders a prompt, derives the cache key (:func:`pipeline.cache.cache_key`),
returns the stored reply on a hit, and otherwise calls the provider through the retry policy,
stores the reply and emits ``executed`` / ``cache_hit`` / ``retried`` events.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from pipeline.cache import CacheStore, cache_key
from pipeline.events import Event, EventLog
from pipeline.llm.base import LLMResponse, Provider
from pipeline.llm.retry import RetryPolicy, call_with_retry
from pipeline.models import Usage
from pipeline.prompts import PromptTemplate


@dataclass(frozen=True)
class CallResult:
    """A model reply.

    ``usage`` is what this run spent (zero on a cache hit); ``original_usage`` what the call cost
    when it was made (equal to ``usage`` on a miss), so savings from the cache can be reported.
    """

    text: str
    finish_reason: str
    usage: Usage
    original_usage: Usage
    cached: bool
    cache_key: str


@dataclass
class ModelCaller:
    """Shared by every stage of a run; thread-safe as long as provider and cache are.

    ``force_stages``: stages whose cached replies are ignored (recomputed and stored again), for
    ``rerun --from-stage``.
    """

    provider: Provider
    cache: CacheStore
    events: EventLog
    retry: RetryPolicy
    force_stages: Collection[str] = field(default_factory=frozenset)

    def call(self, *, stage: str, stage_version: str, prompt: PromptTemplate, model: str,
             variables: dict[str, Any], paper_id: str, field_name: str | None = None,
             **overrides: Any) -> CallResult:
        """Render ``prompt`` with ``variables`` and return the (cached) reply.

        Raises ProviderError / RetryExhaustedError from the provider and retry policy.
        """
        tags = {"stage": stage, "paper": paper_id, "field": field_name or ""}
        request = prompt.render(model, variables, tags=tags, **overrides)
        key = cache_key(stage=stage, stage_version=stage_version, prompt_hash=prompt.content_hash,
                        provider=self.provider.name, model_identity=self.provider.describe_model(model),
                        request=request)
        if stage not in self.force_stages:
            stored = self.cache.get(key)
            if stored is not None:
                original = Usage(**stored.get("usage", {}))
                self.events.emit(Event("cache_hit", stage, paper_id, field_name, seconds=stored.get("seconds"),
                                       tokens=(original.prompt_tokens, original.completion_tokens)))
                return CallResult(stored["text"], stored.get("finish_reason", "stop"), Usage(),
                                  original, cached=True, cache_key=key)
        started = time.perf_counter()
        response = call_with_retry(self.provider, request, self.retry,
                                   on_retry=lambda attempt, exc, wait: self.events.emit(
                                       Event("retried", stage, paper_id, field_name,
                                             f"attempt {attempt}: {exc} (waiting {wait:.1f}s)")))
        usage = _usage(response)
        seconds = round(time.perf_counter() - started, 6)
        self.cache.set(key, {"text": response.text, "finish_reason": response.finish_reason,
                             "usage": usage.model_dump(), "seconds": seconds})
        self.events.emit(Event("executed", stage, paper_id, field_name, seconds=seconds,
                               tokens=(usage.prompt_tokens, usage.completion_tokens)))
        return CallResult(response.text, response.finish_reason, usage, usage, cached=False, cache_key=key)


def _usage(response: LLMResponse) -> Usage:
    return Usage(prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens, calls=1)
