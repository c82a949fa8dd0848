"""Client-side rate limits for HTTP providers: requests and tokens per minute, and 429 pauses.

:class:`RateLimiter` is shared by every call of one provider (it lives on the provider's event
loop). Before a request is sent, :meth:`RateLimiter.acquire` waits until

- no pause is in force (:meth:`RateLimiter.pause`, called when the server answers 429: every
  caller waits, not only the request that was refused),
- the requests-per-minute bucket holds one request, and
- the tokens-per-minute bucket holds the request's *estimated* tokens
  (:func:`estimate_tokens`: prompt text plus ``max_tokens``, as OpenAI counts them).

After the reply, :meth:`RateLimiter.settle` corrects the token bucket with the real usage (the
unused part of the estimate goes back; an underestimate is taken out, so later requests wait).

Each limit is a continuously refilled token bucket of one minute's allowance: the bucket starts
full (a burst of up to one minute's allowance is allowed, as the server's own window allows) and
refills at ``limit / 60`` per second. A request larger than a whole minute's token allowance
waits for a full bucket and then goes alone. ``None`` means no limit. Waiters are served in
arrival order. Clock and sleep are injectable for tests.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipeline.llm.base import LLMRequest

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

CHARS_PER_TOKEN = 4.0
"""Latin-script characters per token in :func:`estimate_tokens` (OpenAI's rule of thumb)."""
TOKENS_PER_MESSAGE = 4
"""Chat formatting overhead per message (role markers), in tokens."""


def estimate_tokens(request: LLMRequest) -> int:
    """Tokens a request may use, before it is sent: prompt text plus ``max_tokens``.

    ASCII text counts :data:`CHARS_PER_TOKEN` characters per token; every other character (CJK,
    accents, symbols) one token, which over- rather than under-estimates.
    """
    texts = [request.prompt] if request.kind == "completion" else [m.content for m in request.messages]
    prompt = sum(_text_tokens(t) for t in texts) + TOKENS_PER_MESSAGE * len(request.messages)
    return prompt + request.max_tokens


def _text_tokens(text: str) -> int:
    ascii_chars = len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_chars / CHARS_PER_TOKEN) + (len(text) - ascii_chars)


class TokenBucket:
    """A bucket of ``per_minute`` units refilled continuously at ``per_minute / 60`` per second.

    The level may go below zero (after :meth:`adjust` with an underestimate); then callers wait
    until it has refilled.
    """

    def __init__(self, per_minute: float, now: float) -> None:
        if per_minute <= 0:
            raise ValueError(f"a rate limit must be > 0 per minute, got {per_minute!r}")
        self.capacity = float(per_minute)
        self.rate = self.capacity / 60.0
        self.level = self.capacity
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
            self._updated = now

    def delay(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` units (at most a full bucket) are available; 0 if they are now."""
        self._refill(now)
        needed = min(amount, self.capacity) - self.level
        return 0.0 if needed <= 0 else needed / self.rate

    def take(self, amount: float, now: float) -> None:
        self._refill(now)
        self.level -= amount

    def adjust(self, delta: float, now: float) -> None:
        """Give back (``delta`` > 0) or take out (< 0) units after the fact; never above capacity."""
        self._refill(now)
        self.level = min(self.capacity, self.level + delta)


@dataclass(frozen=True)
class Reservation:
    """What :meth:`RateLimiter.acquire` took: the estimated tokens and how long the caller waited."""

    tokens: int
    waited: float


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits plus a shared pause (module docstring).

    Args:
        requests_per_minute / tokens_per_minute: the limits; None = unlimited.
        clock: monotonic seconds (default :func:`time.monotonic`).
        sleep: an async sleep (default :func:`asyncio.sleep`).
    """

    def __init__(self, requests_per_minute: float | None = None, tokens_per_minute: float | None = None, *,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self.requests = TokenBucket(requests_per_minute, now) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute, now) if tokens_per_minute else None
        self._paused_until = 0.0
        self._queue: asyncio.Lock | None = None
        self.pauses = 0

    @property
    def limited(self) -> bool:
        """True when a requests or tokens limit is set."""
        return self.requests is not None or self.tokens is not None

    def pause(self, seconds: float) -> None:
        """Hold every caller of :meth:`acquire` for ``seconds`` from now (extends, never shortens)."""
        if seconds > 0:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            self.pauses += 1

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when none)."""
        return max(0.0, self._paused_until - self._clock())

    def delay(self, tokens: int) -> float:
        """Seconds a request of ``tokens`` estimated tokens would have to wait now."""
        now = self._clock()
        waits = [self._paused_until - now]
        if self.requests is not None:
            waits.append(self.requests.delay(1, now))
        if self.tokens is not None:
            waits.append(self.tokens.delay(tokens, now))
        return max(0.0, *waits)

    async def acquire(self, tokens: int) -> Reservation:
        """Wait (in arrival order) until a request of ``tokens`` estimated tokens may be sent."""
        if self._queue is None:
            self._queue = asyncio.Lock()
        started = self._clock()
        async with self._queue:
            while (wait := self.delay(tokens)) > 0:
                await self._sleep(wait)
            now = self._clock()
            if self.requests is not None:
                self.requests.take(1, now)
            if self.tokens is not None:
                self.tokens.take(tokens, now)
        return Reservation(tokens, self._clock() - started)

    def settle(self, reservation: Reservation, used_tokens: int | None) -> None:
        """Correct the token bucket with what the request really used (None/0 = unknown: keep)."""
        if self.tokens is not None and used_tokens:
            self.tokens.adjust(reservation.tokens - used_tokens, self._clock())

    def cancel(self, reservation: Reservation) -> None:
        """The request was never answered (refused, failed): give its estimated tokens back."""
        if self.tokens is not None:
            self.tokens.adjust(reservation.tokens, self._clock())
