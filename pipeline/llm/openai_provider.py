"""A provider for any OpenAI-compatible HTTP endpoint (OpenAI, DeepSeek, vLLM, Ollama, llama.cpp).

Built on the official ``openai`` SDK's synchronous client, which is safe to share between the
threads of the pipeline's pool. The SDK's own retries are switched off (``max_retries=0``):
retrying is :mod:`pipeline.llm.retry`'s job, driven by the ``retryable`` / ``retry_after``
fields of the :class:`~pipeline.errors.ProviderError` raised here.

Error mapping (every SDK error becomes a ProviderError with ``provider="openai"``):

=====================================  =========  ==============================================
cause                                  retryable  notes
=====================================  =========  ==============================================
timeout (``APITimeoutError``)          yes        no status code
connection refused / dropped           yes        no status code
HTTP 408, 409, 429, 5xx                yes        ``retry_after`` from ``Retry-After``
                                                  (RFC 9110 §10.2.3) or ``retry-after-ms``
HTTP 400, 401, 403, 404, 422, other    no         message says what to fix
reply is not valid JSON / no choices   yes        status code 200; usually a proxy hiccup
=====================================  =========  ==============================================

Registered as ``openai``: ``create_provider("openai", settings)`` builds
``OpenAIProvider(**settings)``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import openai
from openai import OpenAI

from pipeline.errors import ConfigError, ProviderError
from pipeline.llm.base import LLMRequest, LLMResponse, Provider, register_provider
from pipeline.llm.retry import parse_retry_after

log = logging.getLogger(__name__)

PROVIDER_NAME = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
LOOPBACK_PLACEHOLDER_KEY = "sk-no-key-required"
"""Sent to loopback servers when no key is configured; local servers ignore it."""

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""4xx statuses worth retrying (timeout, conflict, rate limit); every 5xx is retryable too."""

JSON_OBJECT_FORMAT = {"type": "json_object"}
MAX_SERVER_MESSAGE = 300
"""Longest server error text copied into a ProviderError message (characters)."""


def is_loopback_url(base_url: str) -> bool:
    """True when ``base_url``'s host is ``localhost`` or a loopback IP (127.0.0.0/8, ::1)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_key(api_key_env: str, base_url: str) -> str:
    """The API key from the environment variable ``api_key_env``.

    A loopback ``base_url`` without a key gets :data:`LOOPBACK_PLACEHOLDER_KEY`.

    Raises:
        ProviderError: (not retryable) the variable is unset or empty and the server is remote;
            the message names the variable, never a key.
    """
    key = os.environ.get(api_key_env, "").strip()
    if key:
        return key
    if is_loopback_url(base_url):
        return LOOPBACK_PLACEHOLDER_KEY
    raise ProviderError(PROVIDER_NAME, f"environment variable {api_key_env} is not set; "
                        f"it must hold the API key for {base_url}")


class OpenAIProvider(Provider):
    """Chat and completion calls against an OpenAI-compatible ``base_url``.

    Args:
        base_url: the API root including ``/v1``.
        api_key_env: name of the environment variable holding the key (read once, here).
        timeout: seconds allowed per HTTP request (connect, read, write, pool).
        concurrency: parallel calls worth making; becomes :attr:`max_concurrency`.
        extra_headers: HTTP headers added to every request (e.g. a gateway's routing header).

    Raises:
        ConfigError: ``timeout`` or ``concurrency`` out of range.
        ProviderError: no key for a remote server (see :func:`resolve_api_key`).
    """

    name = PROVIDER_NAME

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, api_key_env: str = DEFAULT_API_KEY_ENV,
                 timeout: float = 60.0, concurrency: int = 8,
                 extra_headers: Mapping[str, str] | None = None) -> None:
        _check_settings(timeout, concurrency)
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_concurrency = int(concurrency)
        self._api_key = resolve_api_key(api_key_env, self.base_url)
        self._json_mode_supported = True
        self._client = OpenAI(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout,
                              max_retries=0, default_headers=dict(extra_headers or {}))

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIProvider(base_url={self.base_url!r}, api_key_env={self.api_key_env!r})"

    @property
    def json_mode_supported(self) -> bool:
        """False once the server has rejected ``response_format`` (then JSON mode is not sent)."""
        return self._json_mode_supported

    def describe_model(self, model: str) -> str:
        """``model@base_url``: the same model name on another server may be another model."""
        return f"{model}@{self.base_url}"

    def close(self) -> None:
        self._client.close()

    # -- calls -----------------------------------------------------------------------------
    def complete(self, request: LLMRequest) -> LLMResponse:
        """Run one chat or completion request.

        Returns an :class:`LLMResponse`; empty or null content gives ``text=""`` with the
        server's ``finish_reason``. Token usage is 0 when the server does not report it.

        Raises:
            ProviderError: see the module docstring for the mapping.
        """
        log.debug("openai %s request model=%s tags=%s", request.kind, request.model, request.tags)
        try:
            if request.kind == "chat":
                return self._chat(request)
            return self._completion(request)
        except openai.OpenAIError as exc:
            raise self._provider_error(exc, request) from exc
        except ValueError as exc:  # a 200 whose JSON body does not parse
            raise self._malformed(f"body is not valid JSON ({exc})") from exc

    def _chat(self, request: LLMRequest) -> LLMResponse:
        """``chat.completions.create``; drops ``response_format`` for good if the server rejects it."""
        params = _sampling_params(request)
        params["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.json_mode and self._json_mode_supported:
            try:
                return self._chat_response(self._client.chat.completions.create(
                    **params, response_format=JSON_OBJECT_FORMAT))
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if not _mentions_response_format(exc):
                    raise
                self._json_mode_supported = False
                log.warning("%s rejected response_format; sending JSON-mode requests without it",
                            self.base_url)
        return self._chat_response(self._client.chat.completions.create(**params))

    def _completion(self, request: LLMRequest) -> LLMResponse:
        """``completions.create`` with ``prompt``."""
        response = self._client.completions.create(prompt=request.prompt, **_sampling_params(request))
        choice = self._first_choice(response)
        return _llm_response(response, choice.text, choice.finish_reason, request)

    def _chat_response(self, response: Any) -> LLMResponse:
        choice = self._first_choice(response)
        message = getattr(choice, "message", None)
        return _llm_response(response, getattr(message, "content", None), choice.finish_reason, None)

    def _first_choice(self, response: Any) -> Any:
        """The first choice of a parsed response; a malformed-reply error if there is none.

        The SDK returns the raw text instead of an object when the reply is not JSON-typed.
        """
        choices = getattr(response, "choices", None)
        if not choices:
            raise self._malformed(f"no choices in reply: {str(response)[:MAX_SERVER_MESSAGE]!r}")
        return choices[0]

    # -- errors ----------------------------------------------------------------------------
    def _malformed(self, detail: str) -> ProviderError:
        return ProviderError(PROVIDER_NAME, f"malformed reply from {self.base_url}: {detail}",
                             status_code=200, retryable=True)

    def _provider_error(self, exc: openai.OpenAIError, request: LLMRequest) -> ProviderError:
        """Map an SDK exception to a ProviderError (see the module docstring's table)."""
        if isinstance(exc, openai.APITimeoutError):
            return ProviderError(PROVIDER_NAME, f"request to {self.base_url} timed out after "
                                 f"{self.timeout:g}s", retryable=True)
        if isinstance(exc, openai.APIConnectionError):
            return ProviderError(PROVIDER_NAME, f"connection to {self.base_url} failed: "
                                 f"{_cause_text(exc)}", retryable=True)
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, request)
        if isinstance(exc, openai.APIResponseValidationError):
            return self._malformed(self._redact(str(exc)))
        return ProviderError(PROVIDER_NAME, self._redact(f"{type(exc).__name__}: {exc}"))

    def _status_error(self, exc: openai.APIStatusError, request: LLMRequest) -> ProviderError:
        status = exc.status_code
        detail = self._redact(_server_message(exc))
        retryable = status in RETRYABLE_STATUS or status >= 500
        retry_after = _retry_after_seconds(exc.response.headers) if retryable else None
        message = self._status_message(status, detail, request)
        return ProviderError(PROVIDER_NAME, message, status_code=status, retryable=retryable,
                             retry_after=retry_after)

    def _status_message(self, status: int, detail: str, request: LLMRequest) -> str:
        """One line saying what went wrong and, for permanent errors, what to fix."""
        messages = {
            400: f"400 bad request for model '{request.model}': {detail}",
            401: f"401 unauthorized: check {self.api_key_env} ({detail})",
            403: f"403 forbidden: the key in {self.api_key_env} may not use model "
                 f"'{request.model}' ({detail})",
            404: f"404: model '{request.model}' not found at {self.base_url} ({detail})",
            422: f"422 unprocessable request for model '{request.model}': {detail}",
            429: f"429 rate limited by {self.base_url}: {detail}",
        }
        return messages.get(status, f"{status} from {self.base_url}: {detail}")

    def _redact(self, text: str) -> str:
        """``text`` with the API key, should a server echo it, replaced by ``***``."""
        return text.replace(self._api_key, "***") if self._api_key else text


def _check_settings(timeout: float, concurrency: int) -> None:
    problems = []
    if not timeout or timeout <= 0:
        problems.append(f"timeout must be > 0 seconds, got {timeout!r}")
    if not isinstance(concurrency, int) or concurrency < 1:
        problems.append(f"concurrency must be an integer >= 1, got {concurrency!r}")
    if problems:
        raise ConfigError("providers.openai", problems)


def _sampling_params(request: LLMRequest) -> dict[str, Any]:
    """The request fields shared by chat and completion calls; unset ``seed``/``stop`` omitted."""
    params: dict[str, Any] = {"model": request.model, "max_tokens": request.max_tokens,
                              "temperature": request.temperature, "top_p": request.top_p}
    if request.seed is not None:
        params["seed"] = request.seed
    if request.stop:
        params["stop"] = list(request.stop)
    return params


def _llm_response(response: Any, text: str | None, finish_reason: str | None,
                  request: LLMRequest | None) -> LLMResponse:
    usage = getattr(response, "usage", None)
    model = getattr(response, "model", None) or (request.model if request else "")
    return LLMResponse(text=text or "", finish_reason=finish_reason or "",
                       prompt_tokens=getattr(usage, "prompt_tokens", None) or 0,
                       completion_tokens=getattr(usage, "completion_tokens", None) or 0,
                       model=model)


def _mentions_response_format(exc: openai.APIStatusError) -> bool:
    """True when a 400/422 reply is about the ``response_format`` parameter."""
    return exc.param == "response_format" or "response_format" in f"{exc.message} {exc.body}"


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own error text (OpenAI ``error.message``, else the raw body), shortened."""
    body = exc.body
    if isinstance(body, Mapping):
        text = body.get("message") or body.get("detail") or body.get("error") or body
    else:
        text = body or exc.message
    return " ".join(str(text).split())[:MAX_SERVER_MESSAGE]


def _cause_text(exc: BaseException) -> str:
    """The innermost cause of a connection error (e.g. 'Server disconnected ...')."""
    cause = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause) or type(cause).__name__


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Server-requested wait in seconds: OpenAI's ``retry-after-ms``, else standard ``Retry-After``."""
    try:
        millis = float(headers.get("retry-after-ms", ""))
    except ValueError:
        return parse_retry_after(headers.get("retry-after"))
    return millis / 1000 if 0 <= millis < float("inf") else parse_retry_after(headers.get("retry-after"))


def _from_settings(settings: dict[str, Any]) -> OpenAIProvider:
    """Registry factory: ``OpenAIProvider(**settings)``, unknown keys reported as a ConfigError."""
    known = {"base_url", "api_key_env", "timeout", "concurrency", "extra_headers"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError("providers.openai", [f"unknown setting {k!r}; known: {', '.join(sorted(known))}"
                                               for k in unknown])
    return OpenAIProvider(**settings)


register_provider(PROVIDER_NAME, _from_settings)
