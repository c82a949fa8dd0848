"""The models an OpenAI-compatible server lists (``GET {base_url}/models``), a cheap first check.

Until a model has answered once, :class:`~pipeline.llm.openai_provider.OpenAIProvider` sends its
requests one at a time (a wrong key or model name costs one request, not one per slot). That
first request waits for a whole generation while every other slot idles; a model the server
lists is known to exist and the key to work, so its requests go together from the start.

The listing is an optimisation only: any failure (no such route, 401/403 on this route, a
timeout, a reply of another shape) gives None and the one-request probe decides, as before.
Source: OpenAI API reference, "List models" (``GET /v1/models``: ``{"object": "list", "data":
[{"id": ...}, ...]}``); served the same way by vLLM, Ollama, llama.cpp server and DeepSeek.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import openai
from openai import AsyncOpenAI

log = logging.getLogger(__name__)

T = TypeVar("T")

LIST_TIMEOUT = 10.0
"""Longest wait for the listing, in seconds (the provider's own timeout when shorter)."""


async def listed_models(client: AsyncOpenAI, timeout: float) -> frozenset[str] | None:
    """The model ids the server of ``client`` lists; None when it does not answer the listing
    (any error or shape: the caller falls back to a one-request probe). Never raises."""
    try:
        page = await client.models.list(timeout=min(timeout, LIST_TIMEOUT))
        ids = frozenset(m.id for m in page.data if isinstance(getattr(m, "id", None), str))
    except (openai.OpenAIError, TypeError, ValueError, AttributeError) as exc:
        log.debug("model listing unavailable (%s); probing with the first request", type(exc).__name__)
        return None
    log.debug("the server lists %d models", len(ids))
    return ids


class ModelGate:
    """Per model, requests go one at a time until one has been answered, unless the server
    lists the model (:func:`listed_models`, asked once for all models). Use on one event loop."""

    def __init__(self, client: AsyncOpenAI, timeout: float) -> None:
        self._client, self._timeout = client, timeout
        self._answered: set[str] = set()            # models known to work
        self._probes: dict[str, asyncio.Lock] = {}
        self._listing: frozenset[str] | None = None
        self._listing_lock = asyncio.Lock()

    async def send(self, model: str, send: Callable[[], Awaitable[T]]) -> T:
        """Await ``send()`` for ``model``: at once when the model is known to work, else as its
        probe (alone; its errors propagate and the next request probes again)."""
        if model not in self._answered:
            async with self._probes.setdefault(model, asyncio.Lock()):
                if model not in self._answered and model in await self._listed():
                    self._answered.add(model)  # the server lists it: no probe needed
                if model not in self._answered:  # this request is the probe
                    response = await send()
                    self._answered.add(model)
                    return response
        return await send()

    async def _listed(self) -> frozenset[str]:
        async with self._listing_lock:
            if self._listing is None:
                self._listing = await listed_models(self._client, self._timeout) or frozenset()
        return self._listing
