"""The provider interface: one request shape, one response shape, one ``complete`` method.

A provider turns an :class:`LLMRequest` (a rendered chat or completion prompt plus sampling
parameters) into an :class:`LLMResponse` (text, finish reason, token usage). Providers are
registered by name (:func:`register_provider`) and built from config (:func:`create_provider`),
so the fake provider used by tests runs through exactly the same stage code as the real ones.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.errors import ConfigError


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class LLMRequest:
    """A rendered prompt ready to send.

    Attributes:
        kind: ``chat`` (``messages`` used) or ``completion`` (``prompt`` used).
        model: provider-specific model name.
        messages / prompt: the rendered prompt.
        max_tokens, temperature, top_p, seed, stop: sampling parameters.
        json_mode: ask for a JSON object where the server supports it.
        tags: tracing labels (stage, field, paper id); never sent to the model.
        variables: the template variables the prompt was rendered from; never sent to the
            model (the fake provider scripts its replies from them).
        output_key: set when the prompt declares ``output: json``: the reply should be a JSON
            object with the answer under this key (never sent as such; the prompt text says so).
    """

    kind: Literal["chat", "completion"]
    model: str
    messages: tuple[ChatMessage, ...] = ()
    prompt: str = ""
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 0
    stop: tuple[str, ...] = ()
    json_mode: bool = False
    tags: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    variables: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    output_key: str | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class LLMResponse:
    """What a provider returned. ``finish_reason`` is ``stop``, ``length`` or provider-specific."""

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""


class Provider(abc.ABC):
    """A model backend. Subclasses set ``name`` and implement :meth:`complete`.

    ``complete`` raises :class:`pipeline.errors.ProviderError` (``retryable`` set for transient
    failures); it must be safe to call from several threads at once (local providers serialize
    internally). ``max_concurrency`` is how many calls are worth running in parallel;
    :attr:`min_workers` how many papers the runner should process at once, at least.
    """

    name: str = "provider"
    max_concurrency: int = 1

    @property
    def min_workers(self) -> int:
        """Papers the runner should keep in progress at once, at least (default 1).

        A provider that queues calls itself (an in-flight limit, rate limits) asks for more than
        ``max_concurrency``: papers doing local work between calls (validation, rendering) must
        not leave a request slot idle.
        """
        return 1

    @abc.abstractmethod
    def complete(self, request: LLMRequest) -> LLMResponse:
        """Run one request; see the class docstring for errors."""

    def describe_model(self, model: str) -> str:
        """A stable identity for ``model`` used in cache keys (e.g. the GGUF file's hash)."""
        return model

    def close(self) -> None:  # pragma: no cover - default no-op
        """Release resources (HTTP clients, model weights)."""


ProviderFactory = Callable[[dict[str, Any]], Provider]
_REGISTRY: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Register ``factory(settings) -> Provider`` under ``name`` (replaces an earlier one)."""
    _REGISTRY[name] = factory


def provider_names() -> list[str]:
    return sorted(_REGISTRY)


def create_provider(name: str, settings: dict[str, Any]) -> Provider:
    """Build the provider registered as ``name``; ConfigError if no such provider exists."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ConfigError("config", [f"unknown provider {name!r}; known: {', '.join(provider_names())}"]) from None
    return factory(settings)
