"""A provider for any OpenAI-compatible HTTP endpoint (OpenAI, DeepSeek, vLLM, Ollama, llama.cpp).

Built on the official ``openai`` SDK's **async** client. The provider owns one event loop in a
background thread (started on the first call, stopped by :meth:`OpenAIProvider.close`); the
synchronous :meth:`OpenAIProvider.complete`, called from the runner's worker threads, submits a
coroutine to that loop (``asyncio.run_coroutine_threadsafe``) and waits for it, so stages keep
the plain :class:`~pipeline.llm.base.Provider` interface while every request shares one
connection pool and one set of limits:

- ``concurrency``: requests in flight at once (an ``asyncio.Semaphore``); also
  :attr:`~pipeline.llm.base.Provider.max_concurrency`, which the runner uses for its workers;
- ``requests_per_minute`` / ``tokens_per_minute``: a :class:`~pipeline.llm.ratelimit.RateLimiter`
  (tokens estimated before the call, corrected from ``usage`` after);
- a 429 pauses that shared limiter for the server's ``Retry-After`` (at most
  ``rate_limit_pause`` seconds; 1 s when the server gives no hint), so every request waits,
  not only the refused one;
- ``timeout``: seconds per HTTP request.

The SDK's own retries are switched off (``max_retries=0``): retrying is
:mod:`pipeline.llm.retry`'s job, driven by the ``retryable`` / ``retry_after`` fields of the
:class:`~pipeline.errors.ProviderError` raised here. A wrong key or model name stops a run at its
first request: requests for a model go one at a time until one has been answered (unless the
server lists it: :mod:`~pipeline.llm.openai_models`), and a 401
(bad key) or a 404 for a model is remembered, so later calls (for that model) fail at once with
the same error, without a request.

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

Registered as ``openai`` with :class:`OpenAISettings` and :data:`CAPABILITIES`:
``create_provider("openai", settings)`` checks the settings and builds ``OpenAIProvider(**settings)``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Any

import openai
from openai import AsyncOpenAI

from pipeline.errors import ConfigError, ProviderError, RequestTooLargeError
from pydantic import Field, field_validator

from pipeline.llm.base import (
    Capabilities,
    LLMRequest,
    LLMResponse,
    Provider,
    ProviderSettings,
    checked_settings,
    register_provider,
)
from pipeline.llm.loop import LoopThread
from pipeline.llm.openai_body import request_body
from pipeline.llm.openai_models import ModelGate
from pipeline.llm.openai_errors import (
    MAX_SERVER_MESSAGE,
    cause_text,
    mentions_response_format,
    retry_after_seconds,
    server_message,
    too_long,
)
from pipeline.llm.ratelimit import RateLimiter, estimate_tokens
from pipeline.llm.urls import checked_http_url, is_loopback_url, redact_http_logs, redact_url, redact_urls

log = logging.getLogger(__name__)

PROVIDER_NAME = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
LOOPBACK_PLACEHOLDER_KEY = "sk-no-key-required"
"""Sent to loopback servers when no key is configured; local servers ignore it."""

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""4xx statuses worth retrying (timeout, conflict, rate limit); every 5xx is retryable too."""

PAPERS_PER_SLOT = 3
"""Runner workers per in-flight request slot (:attr:`OpenAIProvider.min_workers`): with one
worker per slot, a paper validating its last reply holds a slot idle; measured at 16 slots and
200 ms latency, 1 worker per slot kept 14.0 requests in flight on average, 3 kept 15.7."""
DEFAULT_RATE_LIMIT_PAUSE = 1.0
"""Seconds every request waits after a 429 that carries no ``Retry-After``."""
FATAL_STATUS = frozenset({401, 404})
"""Statuses remembered by the provider: a bad key (401) fails every later call, a 404 every later
call for the same model, at once and without a request."""


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


class OpenAISettings(ProviderSettings):
    """``providers.openai.settings``: see :class:`OpenAIProvider` for each one."""

    base_url: str = DEFAULT_BASE_URL
    api_key_env: str = DEFAULT_API_KEY_ENV
    timeout: float = Field(60.0, gt=0, description="seconds per HTTP request")
    concurrency: int = Field(8, ge=1, strict=True, description="requests in flight at once")
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    rate_limit_pause: float = Field(60.0, ge=0, description="longest shared pause after a 429, seconds")
    extra_headers: dict[str, str] | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return checked_http_url(value)  # an http(s) URL with a host: a config error otherwise


CAPABILITIES = Capabilities(remote=True, base_url=True, timeout=True, concurrency=True, json_output=True,
                            batch=True)


class OpenAIProvider(Provider):
    """Chat and completion calls against an OpenAI-compatible ``base_url`` (see the module docstring).

    Args:
        base_url: the API root including ``/v1``. Requests use it as given; everything shown
            (:attr:`base_url`, :meth:`describe_model`, ``repr``, logs, error messages) has its
            userinfo (``user:key@``) removed (:func:`pipeline.llm.urls.redact_url`).
        api_key_env: name of the environment variable holding the key (read once, here).
        timeout: seconds allowed per HTTP request (connect, read, write, pool).
        concurrency: requests in flight at once; becomes :attr:`max_concurrency`.
        requests_per_minute / tokens_per_minute: client-side rate limits (None = none).
        rate_limit_pause: longest shared pause after a 429, in seconds (0 = pause only the
            refused request, through the retry policy).
        extra_headers: HTTP headers added to every request (e.g. a gateway's routing header).

    Raises:
        ConfigError: a setting out of range.
        ProviderError: no key for a remote server (see :func:`resolve_api_key`).
    """

    name = PROVIDER_NAME

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, api_key_env: str = DEFAULT_API_KEY_ENV,
                 timeout: float = 60.0, concurrency: int = 8, requests_per_minute: float | None = None,
                 tokens_per_minute: float | None = None, rate_limit_pause: float = 60.0,
                 extra_headers: Mapping[str, str] | None = None) -> None:
        checked_settings(OpenAISettings, dict(timeout=timeout, concurrency=concurrency,
                                              requests_per_minute=requests_per_minute,
                                              tokens_per_minute=tokens_per_minute,
                                              rate_limit_pause=rate_limit_pause), "providers.openai.settings")
        self._request_url = base_url.rstrip("/")         # may carry a credential: requests only
        self.base_url = redact_url(self._request_url)
        if self.base_url != self._request_url:
            redact_http_logs()                           # httpx logs every request's full URL
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_concurrency = int(concurrency)
        self.rate_limit_pause = float(rate_limit_pause)
        self._api_key = resolve_api_key(api_key_env, self.base_url)
        self._json_mode_supported = True
        self._json_schema_supported = True
        self._client = AsyncOpenAI(api_key=self._api_key, base_url=self._request_url, timeout=self.timeout,
                                   max_retries=0, default_headers=dict(extra_headers or {}))
        self.limiter = RateLimiter(requests_per_minute, tokens_per_minute)
        self._in_flight = asyncio.Semaphore(self.max_concurrency)
        self._fatal: dict[str | None, ProviderError] = {}
        self._gate = ModelGate(self._client, self.timeout)
        self._loop = LoopThread(f"openai-{self.base_url}")

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIProvider(base_url={self.base_url!r}, api_key_env={self.api_key_env!r})"

    @property
    def min_workers(self) -> int:
        """:data:`PAPERS_PER_SLOT` papers per request slot: a paper spends part of its time on
        local work between calls, and the semaphore, not the runner, caps requests in flight."""
        return PAPERS_PER_SLOT * self.max_concurrency

    @property
    def json_mode_supported(self) -> bool:
        """False once the server has rejected ``response_format`` (then JSON mode is not sent)."""
        return self._json_mode_supported

    def describe_model(self, model: str) -> str:
        """``model@base_url``: the same model name on another server may be another model."""
        return f"{model}@{self.base_url}"

    def close(self) -> None:
        """Close the HTTP client and stop the event loop thread (if it was ever started)."""
        if self._loop.started:
            self._loop.run(self._client.close())
        self._loop.stop()

    # -- calls -----------------------------------------------------------------------------
    def complete(self, request: LLMRequest) -> LLMResponse:
        """Run one chat or completion request, waiting for a free slot and the rate limits.

        Safe to call from many threads at once. Returns an :class:`LLMResponse`; empty or null
        content gives ``text=""`` with the server's ``finish_reason``. Token usage is 0 when the
        server does not report it.

        Raises:
            ProviderError: see the module docstring for the mapping.
        """
        return self._loop.run(self.acomplete(request))

    async def acomplete(self, request: LLMRequest) -> LLMResponse:
        """:meth:`complete` as a coroutine; must run on this provider's loop (``complete`` does).

        Until a request for ``request.model`` has been answered, requests for it go one at a
        time (a wrong key or model name costs one request, not one per slot), unless the
        server lists the model (``GET /models``, asked once).
        """
        log.debug("openai %s request model=%s tags=%s", request.kind, request.model, request.tags)
        return await self._gate.send(request.model, lambda: self._limited(request))

    async def _limited(self, request: LLMRequest) -> LLMResponse:
        """Send ``request`` within the in-flight limit and the rate limits."""
        async with self._in_flight:
            self._raise_if_fatal(request)
            reservation = await self.limiter.acquire(estimate_tokens(request) if self.limiter.tokens else 0)
            self._raise_if_fatal(request)
            try:
                response = await self._send(request)
            except ProviderError as exc:
                self.limiter.cancel(reservation)
                self._after_error(exc, request)
                raise
        self.limiter.settle(reservation, response.prompt_tokens + response.completion_tokens)
        return response

    async def _send(self, request: LLMRequest) -> LLMResponse:
        try:
            if request.kind == "chat":
                return await self._chat(request)
            return await self._completion(request)
        except openai.OpenAIError as exc:
            raise self._provider_error(exc, request) from exc
        except ValueError as exc:  # a 200 whose JSON body does not parse
            raise self._malformed(f"body is not valid JSON ({exc})") from exc

    def _raise_if_fatal(self, request: LLMRequest) -> None:
        """Fail at once, without a request, after a 401, or a 404 for this model."""
        fatal = self._fatal.get(None) or self._fatal.get(request.model)
        if fatal is not None:
            raise fatal

    def _after_error(self, error: ProviderError, request: LLMRequest) -> None:
        """Pause every request after a 429; remember a bad key or an unknown model."""
        if error.status_code == 429 and self.rate_limit_pause > 0:
            hint = error.retry_after if error.retry_after is not None else DEFAULT_RATE_LIMIT_PAUSE
            self.limiter.pause(min(hint, self.rate_limit_pause))
        elif error.status_code in FATAL_STATUS:
            self._fatal[None if error.status_code == 401 else request.model] = error

    async def _chat(self, request: LLMRequest) -> LLMResponse:
        """``chat.completions.create``. A server that rejects ``response_format`` is asked the
        simpler way from then on: structured output, then JSON mode, then plain text."""
        while True:
            path, body = request_body(request, schema_ok=self._json_schema_supported,
                                      json_ok=self._json_mode_supported)
            shape = body.get("response_format")
            try:
                return self._chat_response(await self._post(path, body))
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if shape is None or not mentions_response_format(exc):
                    raise
                self._drop_response_format(shape["type"])

    def _drop_response_format(self, kind: str) -> None:
        """Remember that the server rejected ``response_format`` of ``kind``."""
        if kind == "json_schema":
            self._json_schema_supported = False
        else:
            self._json_mode_supported = False
        log.warning("%s rejected response_format %s; asking for replies without it", self.base_url, kind)

    async def _completion(self, request: LLMRequest) -> LLMResponse:
        """``completions.create`` with ``prompt``."""
        response = await self._post(*request_body(request))
        choice = self._first_choice(response)
        return _llm_response(response, choice.get("text"), choice.get("finish_reason"), request)

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        """POST ``body`` with the SDK's low-level ``post`` (same request, auth and errors as
        ``chat.completions.create``) and return the reply's JSON as it came. Skipping the SDK's
        parameter transformation and typed reply saves ~2.5 ms of CPU per call, which at 16
        requests in flight is the difference between keeping every slot busy or not."""
        return await self._client.post(path, body=body, cast_to=object)

    def _chat_response(self, response: Any) -> LLMResponse:
        choice = self._first_choice(response)
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        return _llm_response(response, content, choice.get("finish_reason"), None)

    def _first_choice(self, response: Any) -> dict[str, Any]:
        """The first choice of a reply; a malformed-reply error if there is none (the SDK gives
        the raw text instead of JSON when the reply is not JSON-typed)."""
        choices = response.get("choices") if isinstance(response, dict) else None
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
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
                                 f"{self._redact(cause_text(exc))}", retryable=True)
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, request)
        if isinstance(exc, openai.APIResponseValidationError):
            return self._malformed(self._redact(str(exc)))
        return ProviderError(PROVIDER_NAME, self._redact(f"{type(exc).__name__}: {exc}"))

    def _status_error(self, exc: openai.APIStatusError, request: LLMRequest) -> ProviderError:
        status = exc.status_code
        detail = self._redact(server_message(exc))
        retryable = status in RETRYABLE_STATUS or status >= 500
        retry_after = retry_after_seconds(exc.response.headers) if retryable else None
        message = self._status_message(status, detail, request)
        if status in (400, 413) and too_long(exc):
            return RequestTooLargeError(PROVIDER_NAME, message, status_code=status)
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
        """``text`` with the API key, should a server echo it, replaced by ``***``, and URLs
        without their userinfo."""
        text = redact_urls(text.replace(self._request_url, self.base_url))
        return text.replace(self._api_key, "***") if self._api_key else text


def _llm_response(response: dict[str, Any], text: Any, finish_reason: Any,
                  request: LLMRequest | None) -> LLMResponse:
    usage = response.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    model = response.get("model") or (request.model if request else "")
    return LLMResponse(text=text if isinstance(text, str) else "", finish_reason=str(finish_reason or ""),
                       prompt_tokens=_count(usage.get("prompt_tokens")),
                       completion_tokens=_count(usage.get("completion_tokens")), model=str(model))


def _count(value: Any) -> int:
    """A token count from a reply's ``usage`` (0 when missing or not a number)."""
    return value if isinstance(value, int) and value > 0 else 0


register_provider(PROVIDER_NAME, lambda settings: OpenAIProvider(**settings), settings=OpenAISettings,
                  capabilities=CAPABILITIES)
