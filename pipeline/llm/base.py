"""The provider interface: one request shape, one response shape, one ``complete`` method.

A provider turns an :class:`LLMRequest` (a rendered chat or completion prompt plus sampling
parameters) into an :class:`LLMResponse` (text, finish reason, token usage). Providers are
registered by name with a settings model and capabilities (:func:`register_provider`) and built
from config (:func:`create_provider`), so the fake provider used by tests runs through exactly
the same stage code as the real ones.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

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
        json_schema: the JSON Schema the reply must follow (structured output where the server
            supports it, else JSON mode); None for free text.
        tags: tracing labels (stage, field, paper id); never sent to the model.
        variables: the template variables the prompt was rendered from; never sent to the
            model (the fake provider scripts its replies from them).
        output_key: set when the prompt declares ``output: json``: the reply should be a JSON
            object with the answer under this key (never sent as such; the prompt text says so).
        output_fields: set when the prompt declares ``output: fields``: the reply should be a JSON
            object with one answer per name (the stage's fields of this request).
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
    json_schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    tags: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    variables: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    output_key: str | None = field(default=None, compare=False, hash=False)
    output_fields: tuple[str, ...] | None = field(default=None, compare=False, hash=False)


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


class ProviderSettings(BaseModel):
    """Base of a provider's settings model (``providers.<name>.settings`` in the config): unknown
    keys are errors. Each provider declares its own subclass next to its code."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class OpenSettings(BaseModel):
    """Settings of a provider registered without a settings model: any keys, passed as given."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, read instead of ``if provider == ...`` branches.

    ``remote``: calls leave this machine (a server knows its models: they are not checked before
    the run); ``base_url``: it takes ``--base-url``; ``timeout``: ``run.timeout`` / ``--timeout``
    applies (seconds per request); ``concurrency``: ``run.concurrency`` / ``--concurrency`` sets
    its requests in flight; ``json_output``: it can be asked for a JSON object (``json_mode``);
    ``batch``: its server may offer the OpenAI Batch API (``/v1/files`` + ``/v1/batches``), so
    ``run --batch`` and ``batch export`` apply (:mod:`pipeline.batch`).
    """

    remote: bool = False
    base_url: bool = False
    timeout: bool = False
    concurrency: bool = False
    json_output: bool = False
    batch: bool = False


ProviderFactory = Callable[[dict[str, Any]], Provider]
SettingsT = TypeVar("SettingsT", bound=BaseModel)


@dataclass(frozen=True)
class ProviderSpec:
    """A registered provider: its ``factory(settings dict) -> Provider``, its ``settings`` model
    (validated before the factory is called), its :class:`Capabilities`, and ``stages``: default
    stage settings (stage name -> ``{"model": ..., "prompt": ..., ...}``) that a config's
    ``providers.<name>.stages`` section overrides key by key."""

    name: str
    factory: ProviderFactory
    settings: type[BaseModel] = OpenSettings
    capabilities: Capabilities = Capabilities()
    stages: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


_REGISTRY: dict[str, ProviderSpec] = {}


def register_provider(name: str, factory: ProviderFactory, *, settings: type[BaseModel] = OpenSettings,
                      capabilities: Capabilities = Capabilities(),
                      stages: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Register ``factory(settings) -> Provider`` under ``name`` (replaces an earlier one), with
    its settings model, capabilities and default stage settings (after simonw/llm's model
    registry)."""
    _REGISTRY[name] = ProviderSpec(name, factory, settings, capabilities, dict(stages or {}))


def unregister_provider(name: str) -> None:
    """Remove the provider registered as ``name`` (no error if there is none)."""
    _REGISTRY.pop(name, None)


def provider_names() -> list[str]:
    """The registered providers' names, sorted."""
    return sorted(_REGISTRY)


def default_stages(name: str) -> Mapping[str, Mapping[str, Any]]:
    """The default stage settings provider ``name`` was registered with ({} for an unknown one)."""
    spec = _REGISTRY.get(name)
    return spec.stages if spec is not None else {}


def provider_spec(name: str) -> ProviderSpec:
    """The registered provider ``name``; ConfigError if no such provider exists."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError("config", [f"unknown provider {name!r}; known: {', '.join(provider_names())}"]) from None


def settings_problems(name: str, settings: dict[str, Any], where: str | None = None) -> list[str]:
    """Problems of ``settings`` for provider ``name`` under its settings model, one line each
    (``providers.<name>.settings.<key>: <message>``); empty when they are valid."""
    return model_problems(provider_spec(name).settings, settings, where or f"providers.{name}.settings")


def model_problems(model: type[BaseModel], values: dict[str, Any], where: str) -> list[str]:
    """Problems of ``values`` under the pydantic ``model``, one ``where.key: message`` line each;
    an unknown key reads ``unknown setting 'key' (known: ...)``."""
    try:
        model.model_validate(values)
    except ValidationError as exc:
        known = ", ".join(model.model_fields)
        return [f"{where}: unknown setting {err['loc'][-1]!r} (known: {known})" if err["type"] == "extra_forbidden"
                else f"{'.'.join([where, *(str(p) for p in err['loc'])])}: {err['msg'].removeprefix('Value error, ')}"
                for err in exc.errors()]
    return []


def checked_settings(model: type[SettingsT], values: dict[str, Any], where: str) -> SettingsT:
    """``values`` validated into ``model``; ConfigError (every problem at once) if they are not valid."""
    problems = model_problems(model, values, where)
    if problems:
        raise ConfigError(where, problems)
    return model.model_validate(values)


def create_provider(name: str, settings: dict[str, Any]) -> Provider:
    """Build the provider registered as ``name`` from its checked settings. Raises ConfigError
    for an unknown provider or invalid settings (every problem at once)."""
    spec = provider_spec(name)
    problems = settings_problems(name, settings)
    if problems:
        raise ConfigError(f"providers.{name}", problems)
    if spec.settings is OpenSettings:
        return spec.factory(dict(settings))
    checked = spec.settings.model_validate(settings)
    return spec.factory({key: getattr(checked, key) for key in checked.model_fields_set})
