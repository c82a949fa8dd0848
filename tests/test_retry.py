"""call_with_retry / RetryPolicy: unit tests with a scripted provider, then end to end with the fake server."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

import pydantic
import pytest
from support.fake_openai_server import Fault, FakeOpenAIServer

from pipeline.errors import ProviderError, RetryExhaustedError
from pipeline.llm.base import ChatMessage, LLMRequest, LLMResponse, Provider
from pipeline.llm.openai_provider import OpenAIProvider
from pipeline.llm.retry import RetryPolicy, call_with_retry, parse_retry_after

REQUEST = LLMRequest(kind="chat", model="fake-model", messages=(ChatMessage("user", "你好"),))
NO_JITTER = RetryPolicy(max_attempts=5, initial_wait=1.0, max_wait=60.0, jitter=0.0)
OK = LLMResponse(text="hello")


def transient(status: int = 503, retry_after: float | None = None) -> ProviderError:
    return ProviderError("scripted", f"{status} busy", status_code=status, retryable=True, retry_after=retry_after)


class ScriptedProvider(Provider):
    """Raises or returns the scripted outcomes in order; counts calls."""

    name = "scripted"

    def __init__(self, outcomes: Iterable[LLMResponse | BaseException]) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def complete(self, request: LLMRequest) -> LLMResponse:
        outcome = self.outcomes[self.calls]
        self.calls += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class Recorder:
    """Injectable ``sleep`` and ``on_retry`` that record instead of waiting."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.retries: list[tuple[int, ProviderError, float]] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def on_retry(self, attempt: int, error: ProviderError, wait: float) -> None:
        self.retries.append((attempt, error, wait))


def run(provider: Provider, policy: RetryPolicy = NO_JITTER, request: LLMRequest = REQUEST) -> tuple[LLMResponse, Recorder]:
    rec = Recorder()
    return call_with_retry(provider, request, policy, on_retry=rec.on_retry, sleep=rec.sleep), rec


# -- policy logic ------------------------------------------------------------------------------

def test_success_first_time_never_sleeps() -> None:
    provider = ScriptedProvider([OK])
    response, rec = run(provider)
    assert response is OK and provider.calls == 1 and rec.sleeps == []


def test_transient_errors_retry_with_exponential_backoff_and_report_each_retry() -> None:
    errors = [transient(), transient(500), transient(429)]
    provider = ScriptedProvider([*errors, OK])
    response, rec = run(provider)
    assert response is OK and provider.calls == 4
    assert rec.sleeps == [1.0, 2.0, 4.0]
    assert rec.retries == [(1, errors[0], 1.0), (2, errors[1], 2.0), (3, errors[2], 4.0)]


def test_backoff_is_capped_by_max_wait() -> None:
    provider = ScriptedProvider([transient()] * 4 + [OK])
    _, rec = run(provider, RetryPolicy(max_attempts=5, initial_wait=3, max_wait=5, jitter=0))
    assert rec.sleeps == [3.0, 5.0, 5.0, 5.0]


def test_jitter_adds_at_most_jitter_seconds() -> None:
    provider = ScriptedProvider([transient()] * 3 + [OK])
    _, rec = run(provider, RetryPolicy(initial_wait=1, jitter=0.5))
    for base, waited in zip([1, 2, 4], rec.sleeps, strict=True):
        assert base <= waited <= base + 0.5


def test_retry_after_is_a_floor_capped_by_max_wait() -> None:
    provider = ScriptedProvider([transient(429, retry_after=7), transient(429, retry_after=0.5),
                                 transient(429, retry_after=3600), OK])
    _, rec = run(provider, RetryPolicy(initial_wait=1, max_wait=30, jitter=0))
    assert rec.sleeps == [7.0, 2.0, 30.0]


def test_exhaustion_raises_retry_exhausted_from_the_last_error() -> None:
    last = transient(502)
    provider = ScriptedProvider([transient(503), transient(503), last])
    rec = Recorder()
    with pytest.raises(RetryExhaustedError) as info:
        call_with_retry(provider, REQUEST, RetryPolicy(max_attempts=3, jitter=0), sleep=rec.sleep)
    error = info.value
    assert (error.attempts, error.status_code, error.retryable, error.provider) == (3, 502, False, "scripted")
    assert error.__cause__ is last
    assert "gave up after 3 attempts" in str(error)
    assert provider.calls == 3 and len(rec.sleeps) == 2


def test_max_attempts_one_means_no_retry() -> None:
    provider = ScriptedProvider([transient()])
    with pytest.raises(RetryExhaustedError) as info:
        call_with_retry(provider, REQUEST, RetryPolicy(max_attempts=1), sleep=Recorder().sleep)
    assert info.value.attempts == 1 and provider.calls == 1


@pytest.mark.parametrize("error", [
    ProviderError("scripted", "400 bad request", status_code=400),
    ProviderError("scripted", "401 unauthorized", status_code=401),
    ProviderError("scripted", "404 model not found", status_code=404),
    KeyError("a bug, not a provider error"),
], ids=["400", "401", "404", "non-provider"])
def test_non_retryable_errors_propagate_unchanged_at_once(error: BaseException) -> None:
    provider = ScriptedProvider([error, OK])
    rec = Recorder()
    with pytest.raises(type(error)) as info:
        call_with_retry(provider, REQUEST, NO_JITTER, on_retry=rec.on_retry, sleep=rec.sleep)
    assert info.value is error
    assert provider.calls == 1 and rec.sleeps == [] and rec.retries == []


def test_policy_validates_and_is_frozen() -> None:
    assert RetryPolicy() == RetryPolicy(max_attempts=5, initial_wait=1.0, max_wait=60.0, jitter=1.0)
    with pytest.raises(pydantic.ValidationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(pydantic.ValidationError):
        RetryPolicy(max_retries=3)  # extra keys are typos, not silently ignored
    with pytest.raises(pydantic.ValidationError):
        NO_JITTER.max_attempts = 2  # type: ignore[misc]


# -- Retry-After parsing (RFC 9110 §10.2.3) ----------------------------------------------------

NOW = datetime(2015, 10, 21, 7, 27, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 0 ", 0.0), ("1.5", 1.5),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),        # IMF-fixdate
    ("Wednesday, 21-Oct-15 07:28:30 GMT", 90.0),    # obsolete RFC 850
    ("Wed Oct 21 07:29:00 2015", 120.0),            # obsolete asctime
    ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),         # in the past
    ("-5", None), ("soon", None), ("", None), (None, None), ("inf", None), ("nan", None),
])
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


# -- end to end: OpenAIProvider + fake server --------------------------------------------------

@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def provider_for(server: FakeOpenAIServer, **settings) -> OpenAIProvider:
    return OpenAIProvider(base_url=server.base_url, **{"timeout": 0.5, **settings})


def test_server_retry_after_is_honoured(recorder: Recorder) -> None:
    # rate_limit_pause=0: the provider's shared 429 pause would make the (fake-slept) retry wait
    # the 3 s for real; that pause is tested in test_ratelimit.py.
    with FakeOpenAIServer(faults=[Fault.rate_limited(retry_after="3")]) as server:
        response = call_with_retry(provider_for(server, rate_limit_pause=0), REQUEST, NO_JITTER,
                                   on_retry=recorder.on_retry, sleep=recorder.sleep)
        assert server.request_count == 2
    assert response.text == "echo: 你好"
    assert recorder.sleeps == [3.0]
    attempt, error, wait = recorder.retries[0]
    assert (attempt, error.status_code, error.retry_after, wait) == (1, 429, 3.0, 3.0)


def test_every_transient_fault_is_retried_until_success(recorder: Recorder) -> None:
    faults = [Fault.server_error(500), Fault.unavailable(), Fault.dropped(), Fault.timeout(seconds=3),
              Fault.malformed()]
    with FakeOpenAIServer(faults=faults) as server:
        response = call_with_retry(provider_for(server), REQUEST, RetryPolicy(max_attempts=6, jitter=0),
                                   on_retry=recorder.on_retry, sleep=recorder.sleep)
        assert server.request_count == 6
    assert response.text == "echo: 你好"
    assert [e.status_code for _, e, _ in recorder.retries] == [500, 503, None, None, 200]


def test_gives_up_after_max_attempts(recorder: Recorder) -> None:
    with FakeOpenAIServer(faults=lambda index, body: Fault.unavailable()) as server:
        with pytest.raises(RetryExhaustedError) as info:
            call_with_retry(provider_for(server), REQUEST, RetryPolicy(max_attempts=3, jitter=0),
                            sleep=recorder.sleep)
        assert server.request_count == 3
    assert (info.value.attempts, info.value.status_code, info.value.provider) == (3, 503, "openai")
    assert recorder.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("fault", [
    Fault.http_error(400, "bad request", error_type="invalid_request_error"),
    Fault.unauthorized(),
    Fault.model_not_found(),
], ids=["400", "401", "404"])
def test_permanent_errors_make_exactly_one_request(fault: Fault, recorder: Recorder) -> None:
    with FakeOpenAIServer(faults=lambda index, body: fault) as server:
        with pytest.raises(ProviderError) as info:
            call_with_retry(provider_for(server), REQUEST, NO_JITTER, on_retry=recorder.on_retry,
                            sleep=recorder.sleep)
        assert server.request_count == 1
    assert not isinstance(info.value, RetryExhaustedError)
    assert info.value.status_code == fault.status and recorder.sleeps == [] and recorder.retries == []
