"""Plan mode: which model requests a set of papers needs, without sending any.

The papers go through the real stage code (:func:`pipeline.paper_job.process_paper`) with a
:class:`Planner` on the model caller and the real stage cache read but never written:

- a call the cache already holds is answered from it, exactly as a run would see it;
- any other call is recorded as a :class:`PlannedRequest` and answered with a stand-in
  (:func:`pipeline.llm.fake.template_responder`, English text of plausible length that passes
  validation) so that the stages after it can be planned too. A request is **sendable** when
  everything it is built from is known now (a first translation, a re-ask of an answer the cache
  holds, a re-summary whose translations are all cached), and an **estimate** when it depends on
  a stand-in answer (a re-summary of translations not yet made);
- a request planned twice (the same cache key) is recorded once and counted as cached.

Answers obtained elsewhere (a provider's batch engine) are put into the cache
(:func:`pipeline.cache.put_reply`), and the next plan moves on a round: the requests that were
estimates become sendable. ``run --dry-run`` (:mod:`pipeline.estimate`) prices one plan.

Tokens of a planned request: **prompt = ASCII characters / 4 + one per other character + 4 per
chat message** (the rate limiter's :func:`~pipeline.llm.ratelimit.estimate_tokens`), **completion
= the request's ``max_tokens``** (an upper bound).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pipeline.events import EventLog
from pipeline.llm.base import LLMRequest, LLMResponse, Provider
from pipeline.llm.fake import template_responder
from pipeline.llm.ratelimit import estimate_tokens
from pipeline.models import Paper, Usage
from pipeline.paper_job import process_paper
from pipeline.stages.job import RunContext


@dataclass(frozen=True)
class PlannedRequest:
    """One request a plan found: its ``cache_key``, ``stage``, ``paper_id``, ``field``, the
    rendered ``request``, whether it is ``sendable`` now (else a stand-in estimate), and its
    estimated ``usage`` (prompt tokens estimated, completion tokens = ``max_tokens``)."""

    cache_key: str
    stage: str
    paper_id: str
    field: str | None
    request: LLMRequest = field(repr=False)
    sendable: bool
    usage: Usage


class Planner:
    """Collects the requests of a plan (thread-safe); see the module docstring."""

    def __init__(self) -> None:
        self.requests: dict[str, PlannedRequest] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, key: str, request: LLMRequest, paper_id: str, field_name: str | None, *,
            sendable: bool) -> tuple[str, Usage, bool]:
        """Record ``request`` (once per cache key; a request planned as an estimate becomes
        sendable when another path needs it with known inputs). Returns the stand-in answer, the
        estimated usage and whether this was the first time the key was planned."""
        usage = Usage(prompt_tokens=estimate_tokens(request) - request.max_tokens,
                      completion_tokens=request.max_tokens, calls=1)
        with self._lock:
            earlier = self.requests.get(key)
            if earlier is None or (sendable and not earlier.sendable):
                self.requests[key] = PlannedRequest(key, stage, paper_id, field_name, request, sendable, usage)
        return template_responder(request), usage, earlier is None


@dataclass
class Plan:
    """The result of planning ``papers`` papers: every distinct request, and the events (``planned``
    for each new request, ``cache_hit`` for cached and repeated ones)."""

    papers: int
    requests: list[PlannedRequest]
    events: EventLog = field(repr=False, default_factory=EventLog)

    @property
    def sendable(self) -> list[PlannedRequest]:
        """The requests that can be sent now (their inputs are known)."""
        return [r for r in self.requests if r.sendable]

    @property
    def estimated(self) -> list[PlannedRequest]:
        """The requests that depend on answers not known yet (stand-in estimates)."""
        return [r for r in self.requests if not r.sendable]


class IdentityProvider(Provider):
    """Stands for a provider that cannot be built here (no API key, model not installed): its
    ``name`` and model identities (``describe_model`` = the name) for cache keys. Never called."""

    max_concurrency = 1

    def __init__(self, name: str) -> None:
        self.name = name

    def complete(self, request: LLMRequest) -> LLMResponse:
        raise RuntimeError("plan mode sends no request")


def plan_papers(papers: list[Paper], ctx: RunContext) -> Plan:
    """Plan ``papers`` with ``ctx`` (whose caller has a :class:`Planner`): every paper's DAG is run
    with stand-in answers for what the cache does not hold; returns the :class:`Plan`."""
    planner = ctx.caller.planner
    if planner is None:
        raise ValueError("plan_papers needs a run context whose caller has a planner")
    for paper in papers:
        process_paper(paper, ctx)
    return Plan(len(papers), list(planner.requests.values()), ctx.caller.events)
