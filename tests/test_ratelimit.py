"""Client-side limits: the rate limiter on a fake clock, and the openai provider's in-flight cap,
shared 429 pause and token accounting against the loopback server."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.fake_openai_server import Fault, FakeOpenAIServer, default_responder

from pipeline.errors import ConfigError, ProviderError
from pipeline.llm.base import ChatMessage, LLMRequest, create_provider
from pipeline.llm.openai_provider import OpenAIProvider
from pipeline.llm.ratelimit import RateLimiter, TokenBucket, estimate_tokens


class FakeClock:
    """Monotonic time that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)  # let other tasks start (and queue) before time moves on
        self.now += seconds


def limiter(clock: FakeClock, **limits) -> RateLimiter:
    return RateLimiter(**limits, clock=clock, sleep=clock.sleep)


def request(text: str = "hello world!", max_tokens: int = 10) -> LLMRequest:
    return LLMRequest(kind="chat", model="fake-model", messages=(ChatMessage("user", text),), max_tokens=max_tokens)


# -- estimates and buckets ---------------------------------------------------------------------

def test_estimate_counts_ascii_by_four_other_characters_one_each_plus_max_tokens() -> None:
    assert estimate_tokens(request("a" * 40, max_tokens=100)) == 10 + 4 + 100  # 4 per message
    assert estimate_tokens(request("你好世界", max_tokens=0)) == 4 + 4
    completion = LLMRequest(kind="completion", model="m", prompt="abcdefgh", max_tokens=5)
    assert estimate_tokens(completion) == 2 + 5


def test_token_bucket_refills_per_minute_and_caps_at_capacity() -> None:
    bucket = TokenBucket(60, now=0.0)  # 1 per second
    assert bucket.delay(60, 0.0) == 0
    bucket.take(60, 0.0)
    assert bucket.delay(1, 0.0) == pytest.approx(1.0)
    assert bucket.delay(500, 0.0) == pytest.approx(60.0)  # more than a minute's worth: waits for a full bucket
    bucket.adjust(+1000, 10.0)
    assert bucket.level == 60  # never above capacity
    with pytest.raises(ValueError):
        TokenBucket(0, now=0.0)


# -- the limiter -------------------------------------------------------------------------------

def test_requests_per_minute_allow_a_burst_then_space_requests_out() -> None:
    clock = FakeClock()
    rl = limiter(clock, requests_per_minute=3)

    async def main() -> list[float]:
        return [(await rl.acquire(0)).waited for _ in range(5)]

    waited = asyncio.run(main())
    assert waited[:3] == [0, 0, 0]
    assert waited[3:] == [pytest.approx(20.0), pytest.approx(20.0)]  # 3/min = one every 20 s


def test_tokens_per_minute_wait_for_the_estimate_and_settle_gives_unused_tokens_back() -> None:
    clock = FakeClock()
    rl = limiter(clock, tokens_per_minute=600)  # 10 tokens per second

    async def main() -> None:
        first = await rl.acquire(500)
        assert first.waited == 0 and rl.delay(500) == pytest.approx(40.0)
        rl.settle(first, 100)  # used 100 of the 500 reserved: 400 back
        assert rl.delay(500) == 0
        second = await rl.acquire(500)
        rl.settle(second, 900)  # an underestimate: 400 more taken out
        assert rl.tokens.level == pytest.approx(-400)
        third = await rl.acquire(100)
        assert third.waited == pytest.approx(50.0)  # from -400 to +100 at 10/s

    asyncio.run(main())


def test_unknown_usage_keeps_the_estimate_and_cancel_returns_it() -> None:
    clock = FakeClock()
    rl = limiter(clock, tokens_per_minute=1000)

    async def main() -> None:
        reservation = await rl.acquire(300)
        rl.settle(reservation, 0)
        assert rl.tokens.level == 700
        rl.cancel(reservation)
        assert rl.tokens.level == 1000

    asyncio.run(main())


def test_pause_holds_every_caller_and_only_extends() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    assert not rl.limited
    rl.pause(5)
    rl.pause(2)  # a shorter pause does not shorten the current one
    assert rl.paused_for() == 5 and rl.pauses == 2

    async def main() -> list[float]:
        return list(await asyncio.gather(*(rl.acquire(0) for _ in range(3))))

    reservations = asyncio.run(main())
    assert [r.waited for r in reservations] == [5.0, 5.0, 5.0]
    assert rl.paused_for() == 0


def test_waiters_are_served_in_arrival_order() -> None:
    clock = FakeClock()
    rl = limiter(clock, requests_per_minute=1)
    order: list[int] = []

    async def one(i: int) -> None:
        await rl.acquire(0)
        order.append(i)

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(4)))

    asyncio.run(main())
    assert order == [0, 1, 2, 3]
    assert clock.now == pytest.approx(1000 + 3 * 60)


# -- the openai provider -----------------------------------------------------------------------

def test_provider_settings_build_the_limiter_and_bad_values_are_config_errors() -> None:
    provider = create_provider("openai", {"base_url": "http://127.0.0.1:9/v1", "concurrency": 4,
                                          "requests_per_minute": 500, "tokens_per_minute": 90000})
    assert (provider.limiter.requests.capacity, provider.limiter.tokens.capacity) == (500, 90000)
    assert provider.min_workers == 12  # 3 papers per request slot keep the slots busy
    provider.close()
    with pytest.raises(ConfigError, match="3 problems"):
        OpenAIProvider(base_url="http://127.0.0.1:9/v1", requests_per_minute=0, tokens_per_minute=-1,
                       rate_limit_pause=-1)


def test_concurrency_caps_requests_in_flight() -> None:
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def slow(body: dict) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return default_responder(body)

    with FakeOpenAIServer(responder=slow) as server:
        provider = OpenAIProvider(base_url=server.base_url, timeout=5, concurrency=3)
        with ThreadPoolExecutor(max_workers=10) as pool:
            texts = list(pool.map(lambda i: provider.complete(request(f"n{i}")).text, range(12)))
        provider.close()
    assert texts == [f"echo: n{i}" for i in range(12)]
    assert state["peak"] == 3


def test_a_429_pauses_every_request_not_only_the_refused_one() -> None:
    with FakeOpenAIServer(faults=[Fault.rate_limited(retry_after="0.4")]) as server:
        provider = OpenAIProvider(base_url=server.base_url, timeout=5, concurrency=4)
        with pytest.raises(ProviderError) as info:
            provider.complete(request("refused"))
        assert info.value.status_code == 429 and info.value.retry_after == 0.4
        assert provider.limiter.pauses == 1
        other = provider.complete(request("another request"))  # never refused, still waits
        first, second = server.requests
        provider.close()
    assert other.text == "echo: another request"
    assert second.received_at - first.received_at >= 0.35


def test_pause_is_capped_by_rate_limit_pause_and_can_be_switched_off() -> None:
    with FakeOpenAIServer(faults=[Fault.rate_limited(retry_after="3600")] * 2) as server:
        capped = OpenAIProvider(base_url=server.base_url, timeout=5, rate_limit_pause=0.2)
        off = OpenAIProvider(base_url=server.base_url, timeout=5, rate_limit_pause=0)
        for provider in (capped, off):
            with pytest.raises(ProviderError):
                provider.complete(request())
        assert 0 < capped.limiter.paused_for() <= 0.2 and off.limiter.paused_for() == 0
        capped.close()
        off.close()


def test_token_bucket_is_corrected_from_reported_usage() -> None:
    with FakeOpenAIServer() as server:
        provider = OpenAIProvider(base_url=server.base_url, timeout=5, tokens_per_minute=60_000)
        response = provider.complete(request("one two three", max_tokens=500))
        level = provider.limiter.tokens.level
        provider.close()
    used = response.prompt_tokens + response.completion_tokens
    assert used < 20
    assert 60_000 - used - 1 <= level <= 60_000  # the 500-token reservation came back but what was used


def test_bad_key_is_remembered_later_calls_fail_without_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-wrong")
    with FakeOpenAIServer(api_key="sk-right") as server:
        provider = OpenAIProvider(base_url=server.base_url, api_key_env="MY_KEY", timeout=5)
        errors = []
        for _ in range(3):
            with pytest.raises(ProviderError) as info:
                provider.complete(request())
            errors.append(info.value)
        assert server.request_count == 1
        provider.close()
    assert {e.status_code for e in errors} == {401} and not any(e.retryable for e in errors)


def _arrivals(server: FakeOpenAIServer, model: str, n: int = 5) -> list[float]:
    """Send ``n`` requests for ``model`` from 4 threads at once; their arrival times, sorted."""
    provider = OpenAIProvider(base_url=server.base_url, timeout=5, concurrency=4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: provider.complete(LLMRequest(kind="chat", model=model, max_tokens=10,
                                                             messages=(ChatMessage("user", f"n{i}"),))),
                      range(n)))
    provider.close()
    return sorted(r.received_at for r in server.requests)


def test_requests_for_an_unlisted_model_go_one_at_a_time_until_one_is_answered() -> None:
    # models=None: the server answers any model but lists only "fake-model"
    with FakeOpenAIServer(latency=0.5, models=None) as server:
        first, *others = _arrivals(server, "unlisted-model")
        assert server.model_listings == 1
    assert min(others) - first >= 0.45  # the rest waited for the first answer (0.5 s) ...
    # ... then went together: all in flight before any was answered (one after the other would
    # spread them over 1.5 s; the margin is for a busy machine's thread wake-ups)
    assert max(others) - min(others) < 0.4


def test_requests_for_a_listed_model_go_together_from_the_start() -> None:
    with FakeOpenAIServer(latency=0.5) as server:
        arrivals = _arrivals(server, "fake-model")
        assert server.model_listings == 1  # asked once, not per request or per slot
    assert arrivals[3] - arrivals[0] < 0.4  # 4 slots filled at once, no probe first
    assert arrivals[4] - arrivals[0] >= 0.45  # the fifth waited for a free slot


def test_a_server_without_a_model_listing_is_probed_with_the_first_request() -> None:
    # a bad key makes the listing fail (401): no listing, so the first request is the probe
    with FakeOpenAIServer(api_key="sk-right", models=None) as server:
        provider = OpenAIProvider(base_url=server.base_url, timeout=5)
        with pytest.raises(ProviderError, match="401"):
            provider.complete(request())
        with pytest.raises(ProviderError, match="401"):
            provider.complete(request())  # remembered: no request
        provider.close()
        assert server.model_listings == 1 and server.request_count == 1


def test_unknown_model_is_remembered_per_model() -> None:
    with FakeOpenAIServer(models=["fake-model"]) as server:
        provider = OpenAIProvider(base_url=server.base_url, timeout=5)
        for _ in range(2):
            with pytest.raises(ProviderError, match="404: model 'nope'"):
                provider.complete(LLMRequest(kind="chat", model="nope", messages=(ChatMessage("user", "x"),)))
        assert provider.complete(request()).text  # another model still works
        assert server.request_count == 2
        provider.close()


def test_close_stops_the_loop_thread_and_an_unused_provider_never_starts_one() -> None:
    before = {t.name for t in threading.enumerate()}
    unused = OpenAIProvider(base_url="http://127.0.0.1:9/v1")
    unused.close()
    with FakeOpenAIServer() as server:
        provider = OpenAIProvider(base_url=server.base_url, timeout=5)
        provider.complete(request())
        assert any(t.name == f"openai-{server.base_url}" for t in threading.enumerate())
        provider.close()
    time.sleep(0.05)
    assert {t.name for t in threading.enumerate()} - before <= {"fake-openai"}
