"""One cached, retried model call: the only way stages talk to a provider.

:class:`ModelCaller` renders a prompt, derives the cache key (:func:`pipeline.cache.cache_key`),
returns the stored reply on a hit, and otherwise calls the provider through the retry policy,
stores the reply and emits ``executed`` / ``cache_hit`` / ``retried`` events.

Every reply, fresh or cached, is then read per the prompt's output declaration
(:func:`pipeline.llm.reply.parse_reply`: the JSON answer with LaTeX-safe repairs, or the text).
An unusable reply (empty, not valid JSON, cut at ``max_tokens``) is re-asked, at most
``reply_attempts`` answers in all, with a ``reasked`` event: a reply cut at ``max_tokens`` with
twice the tokens (up to :data:`MAX_TOKENS_CAP`), any other with a new seed and temperature >=
0.7 (an identical request would get the identical cached reply). Raw replies are cached as
received, so a warm run replays the same answers and re-asks without a model call. If no answer
is usable, the result has ``text=""`` and ``problem`` says why; the stage's validation then
fails the field (``schema``) and may re-ask with its repair prompt.

Plan mode (``planner`` set, :mod:`pipeline.plan`): nothing is sent. A call the cache holds is
answered from it as usual; any other is handed to the planner, which records the request (sendable
now, or a stand-in estimate when ``depends_on_unknown``) and answers it with a stand-in so that
the stages after it can be planned too; such a result has ``known=False`` and emits ``planned``
(or ``cache_hit`` when the same request was already planned).

An answer from a provider's batch engine that no run has reported yet (:data:`pipeline.cache.UNREPORTED`)
is reported by the first run that uses it as a call it made (``executed`` with ``batch`` set, its
usage counted and priced at the model's ``batch_discount``), then as a cache hit: a warm re-run
costs nothing. Plan mode only reads it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.cache import UNREPORTED, CacheStore, cache_key, put_reply
from pipeline.events import Event, EventLog
from pipeline.llm.base import LLMRequest, LLMResponse, Provider
from pipeline.llm.reply import Reply, parse_reply
from pipeline.llm.reply_fields import parse_fields
from pipeline.llm.retry import RetryPolicy, call_with_retry
from pipeline.models import Usage
from pipeline.prompts import PromptTemplate

if TYPE_CHECKING:
    from pipeline.plan import Planner

REPLY_ATTEMPTS = 3
"""Answers asked for per call when replies are unusable (1 = never re-ask)."""
MAX_TOKENS_CAP = 8192
"""The most ``max_tokens`` a re-ask after a reply cut at ``max_tokens`` may ask for."""
REASK_TEMPERATURE = 0.7
"""Lowest temperature of a re-ask after an empty or malformed reply."""


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
    problem: str = ""
    attempts: int = 1
    known: bool = True
    fields: dict[str, str] | None = None


@dataclass
class ModelCaller:
    """Shared by every stage of a run; thread-safe as long as provider and cache are.

    ``force_stages``: stages whose cached replies are ignored (recomputed and stored again), for
    ``rerun --from-stage``. ``reply_attempts``: answers asked for per call while replies are
    unusable (module docstring). ``planner``: plan mode (module docstring).
    """

    provider: Provider
    cache: CacheStore
    events: EventLog
    retry: RetryPolicy
    force_stages: Collection[str] = field(default_factory=frozenset)
    reply_attempts: int = REPLY_ATTEMPTS
    planner: Planner | None = None
    _reported: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def call(self, *, stage: str, stage_version: str, prompt: PromptTemplate, model: str,
             variables: dict[str, Any], paper_id: str, field_name: str | None = None,
             depends_on_unknown: bool = False, **overrides: Any) -> CallResult:
        """Render ``prompt`` with ``variables`` and return the (cached) answer, re-asking while
        the reply is unusable (module docstring). ``usage`` sums every answer asked for.
        ``depends_on_unknown``: in plan mode, the request depends on an answer not known yet.

        Raises ProviderError / RetryExhaustedError from the provider and retry policy.
        """
        tags = {"stage": stage, "paper": paper_id, "field": field_name or ""}
        usage, original, cached, known = Usage(), Usage(), True, True
        attempts = max(1, self.reply_attempts)
        for attempt in range(1, attempts + 1):
            request = prompt.render(model, variables, tags=tags, **overrides)
            raw = self._answer(stage, stage_version, prompt, request, paper_id, field_name, depends_on_unknown)
            usage, original = usage.add(raw.usage), original.add(raw.original_usage)
            cached, known = cached and raw.cached, known and raw.known
            reply = _read(prompt, request, raw)
            if reply.ok:
                return CallResult(reply.text or "", raw.finish_reason, usage, original, cached, raw.cache_key,
                                  attempts=attempt, known=known, fields=reply.fields)
            if attempt < attempts:
                change = _reask_overrides(request, reply)
                overrides = {**overrides, **change}
                self.events.emit(Event("reasked", stage, paper_id, field_name,
                                       f"answer {attempt}: {reply.problem}; asking again with "
                                       + ", ".join(f"{k}={v}" for k, v in change.items())))
        problem = f"no usable model reply in {attempts} answer(s): {reply.problem}"
        return CallResult("", raw.finish_reason, usage, original, cached, raw.cache_key, problem=problem,
                          attempts=attempts, known=known)

    def _answer(self, stage: str, stage_version: str, prompt: PromptTemplate, request: LLMRequest,
                paper_id: str, field_name: str | None, depends_on_unknown: bool = False) -> CallResult:
        """The stored answer for ``request``, or a fresh one from the provider (then stored);
        ``text`` is the raw reply, not yet read by :func:`parse_reply`."""
        key = cache_key(stage=stage, stage_version=stage_version, prompt_hash=prompt.content_hash,
                        provider=self.provider.name, model_identity=self.provider.describe_model(request.model),
                        request=request)
        if stage not in self.force_stages:
            stored = self.cache.get(key)
            if stored is not None and stored.get(UNREPORTED) and self.planner is None:
                reported = self._report_batch_answer(stage, key, stored, paper_id, field_name)
                if reported is not None:
                    return reported
            if stored is not None:
                original = Usage(**stored.get("usage", {}))
                self.events.emit(Event("cache_hit", stage, paper_id, field_name, seconds=stored.get("seconds"),
                                       tokens=(original.prompt_tokens, original.completion_tokens),
                                       batch=original.batch_calls > 0))
                return CallResult(stored["text"], stored.get("finish_reason", "stop"), Usage(), original, True, key)
        if self.planner is not None:
            return self._planned(stage, key, request, paper_id, field_name, depends_on_unknown)
        started = time.perf_counter()
        response = call_with_retry(self.provider, request, self.retry,
                                   on_retry=lambda attempt, exc, wait: self.events.emit(
                                       Event("retried", stage, paper_id, field_name,
                                             f"attempt {attempt}: {exc} (waiting {wait:.1f}s)")))
        usage = _usage(response)
        seconds = round(time.perf_counter() - started, 6)
        put_reply(self.cache, key, response.text, finish_reason=response.finish_reason, usage=usage, seconds=seconds)
        self.events.emit(Event("executed", stage, paper_id, field_name, seconds=seconds,
                               tokens=(usage.prompt_tokens, usage.completion_tokens)))
        return CallResult(response.text, response.finish_reason, usage, usage, False, key)


    def _report_batch_answer(self, stage: str, key: str, stored: dict[str, Any], paper_id: str,
                             field_name: str | None) -> CallResult | None:
        """A batch engine's answer no run has reported yet (:data:`pipeline.cache.UNREPORTED`):
        this run counts it as a call it made (``executed``, ``batch``), once per key, and marks
        it reported, so a later run sees a plain cache hit. None when another paper of this run
        already reported it (then it is a cache hit here)."""
        with self._lock:
            if key in self._reported:
                return None
            self._reported.add(key)
        usage = Usage(**stored.get("usage", {}))
        self.cache.set(key, {k: v for k, v in stored.items() if k != UNREPORTED})
        self.events.emit(Event("executed", stage, paper_id, field_name, seconds=stored.get("seconds"),
                               tokens=(usage.prompt_tokens, usage.completion_tokens), batch=True))
        return CallResult(stored["text"], stored.get("finish_reason", "stop"), usage, usage, False, key)

    def _planned(self, stage: str, key: str, request: LLMRequest, paper_id: str, field_name: str | None,
                 depends_on_unknown: bool) -> CallResult:
        """Plan mode: hand the request to the planner and answer with its stand-in."""
        assert self.planner is not None
        text, usage, first = self.planner.add(stage, key, request, paper_id, field_name,
                                              sendable=not depends_on_unknown)
        tokens = (usage.prompt_tokens, usage.completion_tokens)
        self.events.emit(Event("planned" if first else "cache_hit", stage, paper_id, field_name, tokens=tokens))
        return CallResult(text, "stop", Usage() if not first else usage, usage, not first, key, known=False)


def _read(prompt: PromptTemplate, request: LLMRequest, raw: CallResult) -> Reply:
    """The answer in a raw reply, per the prompt's output declaration."""
    if prompt.output == "fields":
        return parse_fields(raw.text, raw.finish_reason, request.output_fields or ())
    return parse_reply(raw.text, raw.finish_reason, output=prompt.output, key=prompt.output_key)


def _reask_overrides(request: LLMRequest, reply: Reply) -> dict[str, Any]:
    """Sampling changes for the next answer after ``reply`` was unusable (module docstring)."""
    if reply.truncated and request.max_tokens < MAX_TOKENS_CAP:
        return {"max_tokens": min(MAX_TOKENS_CAP, request.max_tokens * 2)}
    return {"temperature": max(request.temperature, REASK_TEMPERATURE), "seed": (request.seed or 0) + 1}


def _usage(response: LLMResponse) -> Usage:
    return Usage(prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens, calls=1)
