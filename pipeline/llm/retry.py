"""Retrying provider calls: a declarative :class:`RetryPolicy` and :func:`call_with_retry` on tenacity.

Rules:

- Only :class:`~pipeline.errors.ProviderError` with ``retryable=True`` is retried (timeouts,
  dropped connections, 408/409/429/5xx — the provider decides). Anything else, including a
  non-retryable ``ProviderError`` (400/401/403/404/422), propagates at once, unchanged.
- The wait before retry ``n`` (1-based attempt that failed) is exponential with jitter::

      backoff(n) = min(initial_wait * 2 ** (n - 1) + uniform(0, jitter), max_wait)

  and when the error carries a server hint (``retry_after``, from ``Retry-After``), the wait is
  ``max(backoff(n), min(retry_after, max_wait))``: at least what the server asked for, never
  more than ``max_wait``.
- After ``max_attempts`` failed attempts, :class:`~pipeline.errors.RetryExhaustedError` is
  raised ``from`` the last error, carrying the attempt count and the last HTTP status.

All numbers live on the policy; nothing about retry behaviour is a hidden constant.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from pipeline.errors import ProviderError, RetryExhaustedError
from pipeline.llm.base import LLMRequest, LLMResponse, Provider

OnRetry = Callable[[int, ProviderError, float], None]
"""``on_retry(attempt_number, error, wait_seconds)``: attempt ``attempt_number`` (1-based) failed
with ``error``; the next attempt starts after ``wait_seconds``."""


class RetryPolicy(BaseModel):
    """How often and how patiently to retry transient provider errors.

    Attributes (seconds unless stated):
        max_attempts: total attempts including the first (1 = never retry).
        initial_wait: backoff before the first retry; doubles for each further retry.
        max_wait: cap on any single wait, including one asked for by ``Retry-After``.
        jitter: a uniform random ``[0, jitter]`` added to each backoff (0 = deterministic).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(5, ge=1)
    initial_wait: float = Field(1.0, ge=0)
    max_wait: float = Field(60.0, ge=0)
    jitter: float = Field(1.0, ge=0)


class wait_backoff_or_retry_after(wait_base):  # noqa: N801 - tenacity naming convention
    """tenacity wait: exponential backoff with jitter, raised to the error's ``retry_after``.

    See the module docstring for the formula. ``retry_after`` is read from the
    :class:`ProviderError` of the failed attempt; other exceptions use plain backoff.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.max_wait = policy.max_wait
        self.backoff = wait_exponential_jitter(multiplier=policy.initial_wait, max=policy.max_wait,
                                               jitter=policy.jitter)

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = self.backoff(retry_state)
        hint = _retry_after_of(retry_state)
        if hint is None:
            return wait
        return max(wait, min(hint, self.max_wait))


def _retry_after_of(retry_state: RetryCallState) -> float | None:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None and outcome.failed else None
    return error.retry_after if isinstance(error, ProviderError) else None


def is_retryable(error: BaseException) -> bool:
    """True for a :class:`ProviderError` the provider marked ``retryable``."""
    return isinstance(error, ProviderError) and error.retryable


def build_retrying(policy: RetryPolicy, *, on_retry: OnRetry | None = None,
                   sleep: Callable[[float], None] = time.sleep) -> Retrying:
    """The tenacity ``Retrying`` controller for ``policy`` (exposed for callers that need one).

    Exhaustion surfaces as ``tenacity.RetryError``; :func:`call_with_retry` converts it.
    """
    return Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait_backoff_or_retry_after(policy),
        retry=retry_if_exception(is_retryable),
        sleep=sleep,
        before_sleep=_before_sleep(on_retry) if on_retry is not None else None,
        reraise=False,
    )


def _before_sleep(on_retry: OnRetry) -> Callable[[RetryCallState], None]:
    def report(retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception()  # type: ignore[union-attr]
        wait = retry_state.next_action.sleep  # type: ignore[union-attr]
        on_retry(retry_state.attempt_number, error, wait)
    return report


def call_with_retry(provider: Provider, request: LLMRequest, policy: RetryPolicy | None = None, *,
                    on_retry: OnRetry | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> LLMResponse:
    """``provider.complete(request)``, retried per ``policy`` (default :class:`RetryPolicy()`).

    Args:
        on_retry: called as ``on_retry(attempt_number, error, wait_seconds)`` before each wait.
        sleep: the sleep function (inject a recorder in tests).

    Raises:
        ProviderError: a non-retryable error, unchanged, on the attempt it happened.
        RetryExhaustedError: every attempt failed with a retryable error; chained from the last.
        Exception: anything that is not a ProviderError propagates unchanged, without retry.
    """
    try:  # the first attempt runs bare: the tenacity controller is built only after a failure
        return provider.complete(request)
    except ProviderError as error:
        if not error.retryable:
            raise
        failed = [error]

    def attempt(req: LLMRequest) -> LLMResponse:
        if failed:  # tenacity's attempt 1 is the one that already failed: replay its error
            raise failed.pop()
        return provider.complete(req)

    retrying = build_retrying(policy or RetryPolicy(), on_retry=on_retry, sleep=sleep)
    try:
        return retrying(attempt, request)
    except RetryError as exhausted:
        last = exhausted.last_attempt.exception()
        if not isinstance(last, ProviderError):  # unreachable: only ProviderErrors are retried
            raise
        raise RetryExhaustedError(last.provider, last.message, attempts=exhausted.last_attempt.attempt_number,
                                  status_code=last.status_code) from last


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value, or None if absent or unparsable.

    RFC 9110 §10.2.3 allows ``delay-seconds`` (a non-negative integer) or an ``HTTP-date``
    (IMF-fixdate, or the obsolete RFC 850 / asctime forms). Fractional seconds (``"1.5"``),
    which some servers send, are accepted too. A date in the past gives 0.

    Args:
        value: the raw header value.
        now: the current time for HTTP-dates (default: now, UTC).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until_http_date(text: str, now: datetime | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are always GMT (RFC 9110 §5.6.7)
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())
