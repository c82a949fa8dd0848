"""OpenAIProvider against the loopback fake server: request shape, replies, and every fault mapping."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.fake_openai_server import Fault, FakeOpenAIServer

from pipeline.errors import ConfigError, ProviderError
from pipeline.llm.base import ChatMessage, LLMRequest, create_provider
from pipeline.llm.openai_provider import LOOPBACK_PLACEHOLDER_KEY, OpenAIProvider, is_loopback_url

MODEL = "fake-model"


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not depend on (or leak) a key from the developer's environment."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def chat(text: str = "Translate: 你好", **overrides) -> LLMRequest:
    return LLMRequest(kind="chat", model=overrides.pop("model", MODEL),
                      messages=(ChatMessage("system", "You translate."), ChatMessage("user", text)),
                      **overrides)


def provider_for(server: FakeOpenAIServer, **settings) -> OpenAIProvider:
    return OpenAIProvider(base_url=server.base_url, **{"timeout": 5, **settings})


def error_of(provider: OpenAIProvider, request: LLMRequest) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        provider.complete(request)
    assert info.value.provider == "openai"
    return info.value


# -- request shape and replies -----------------------------------------------------------------

def test_chat_sends_sampling_parameters_and_returns_text_and_usage() -> None:
    with FakeOpenAIServer() as server:
        request = chat(max_tokens=77, temperature=0.3, top_p=0.9, seed=7, stop=("\n\n",))
        response = provider_for(server).complete(request)
        (sent,) = server.requests_to("/v1/chat/completions")
    assert response.text == "echo: Translate: 你好"
    assert response.finish_reason == "stop"
    assert (response.prompt_tokens, response.completion_tokens) == (4, 3)
    assert response.model == MODEL
    assert sent.body == {"model": MODEL, "max_tokens": 77, "temperature": 0.3, "top_p": 0.9, "seed": 7,
                         "stop": ["\n\n"], "messages": [{"role": "system", "content": "You translate."},
                                                        {"role": "user", "content": "Translate: 你好"}]}


def test_unset_seed_and_stop_are_not_sent() -> None:
    with FakeOpenAIServer() as server:
        provider_for(server).complete(chat(seed=None))
        (sent,) = server.requests
    assert "seed" not in sent.body and "stop" not in sent.body and "response_format" not in sent.body


def test_completion_kind_posts_prompt_to_completions() -> None:
    with FakeOpenAIServer() as server:
        request = LLMRequest(kind="completion", model=MODEL, prompt="English: hello\nChinese:", max_tokens=9)
        response = provider_for(server).complete(request)
        (sent,) = server.requests
    assert sent.path == "/v1/completions"
    assert sent.body["prompt"] == "English: hello\nChinese:" and "messages" not in sent.body
    assert response.text == "echo: English: hello\nChinese:"
    assert response.prompt_tokens > 0 and response.completion_tokens > 0


def test_missing_usage_gives_zero_tokens() -> None:
    with FakeOpenAIServer(include_usage=False) as server:
        response = provider_for(server).complete(chat())
    assert (response.prompt_tokens, response.completion_tokens) == (0, 0)


def test_truncated_output_keeps_text_and_reports_length() -> None:
    with FakeOpenAIServer(faults=[Fault.truncated()]) as server:
        response = provider_for(server).complete(chat("one two three four"))
    assert response.finish_reason == "length"
    assert response.text and len(response.text) < len("echo: one two three four")


@pytest.mark.parametrize("null", [False, True], ids=["empty-string", "null"])
def test_empty_content_is_empty_text_not_an_error(null: bool) -> None:
    with FakeOpenAIServer(faults=[Fault.empty(null=null)]) as server:
        response = provider_for(server).complete(chat())
    assert response.text == "" and response.finish_reason == "stop"


def test_extra_headers_are_sent() -> None:
    with FakeOpenAIServer() as server:
        provider_for(server, extra_headers={"X-Route": "blue"}).complete(chat())
        (sent,) = server.requests
    assert sent.headers["x-route"] == "blue"


def test_concurrent_calls_share_one_provider() -> None:
    with FakeOpenAIServer(latency=0.05) as server:
        provider = provider_for(server, concurrency=8)
        with ThreadPoolExecutor(max_workers=provider.max_concurrency) as pool:
            texts = list(pool.map(lambda i: provider.complete(chat(f"n{i}")).text, range(16)))
        assert server.request_count == 16
    assert texts == [f"echo: n{i}" for i in range(16)]


# -- JSON mode ---------------------------------------------------------------------------------

def test_json_mode_sends_response_format() -> None:
    with FakeOpenAIServer() as server:
        response = provider_for(server).complete(chat(json_mode=True))
        (sent,) = server.requests
    assert sent.body["response_format"] == {"type": "json_object"}
    assert response.text.startswith("{")


def test_json_mode_falls_back_once_and_remembers() -> None:
    with FakeOpenAIServer(reject_response_format=True) as server:
        provider = provider_for(server)
        first = provider.complete(chat(json_mode=True))
        second = provider.complete(chat(json_mode=True))
        bodies = [r.body for r in server.requests]
    assert first.text and second.text
    assert ["response_format" in b for b in bodies] == [True, False, False]
    assert provider.json_mode_supported is False


def test_other_400_in_json_mode_is_not_swallowed() -> None:
    with FakeOpenAIServer(faults=[Fault.http_error(400, "max_tokens is too large", error_type="invalid_request_error")]) as server:
        provider = provider_for(server)
        error = error_of(provider, chat(json_mode=True))
        assert server.request_count == 1
    assert (error.status_code, error.retryable) == (400, False)
    assert "max_tokens is too large" in error.message
    assert provider.json_mode_supported is True


def test_a_prompt_over_the_context_length_is_a_request_too_large_error() -> None:
    from pipeline.errors import RequestTooLargeError

    message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."
    with FakeOpenAIServer(faults=[Fault.http_error(400, message, error_type="invalid_request_error")]) as server:
        error = error_of(provider_for(server), chat())
    assert isinstance(error, RequestTooLargeError) and not error.retryable and error.status_code == 400
    with FakeOpenAIServer(faults=[Fault.http_error(400, "messages must not be empty")]) as server:
        assert not isinstance(error_of(provider_for(server), chat()), RequestTooLargeError)


# -- fault mapping -----------------------------------------------------------------------------

@pytest.mark.parametrize(("fault", "status", "retry_after"), [
    (Fault.rate_limited(retry_after="2"), 429, 2.0),
    (Fault.rate_limited(retry_after=None), 429, None),
    (Fault.server_error(500), 500, None),
    (Fault.server_error(502), 502, None),
    (Fault.unavailable(retry_after="7"), 503, 7.0),
    (Fault.http_error(408, "request timeout"), 408, None),
    (Fault.http_error(409, "conflict"), 409, None),
    (Fault("status", status=429, message="slow down", headers=(("retry-after-ms", "1500"),)), 429, 1.5),
], ids=["429", "429-no-hint", "500", "502", "503", "408", "409", "429-retry-after-ms"])
def test_transient_http_errors_are_retryable(fault: Fault, status: int, retry_after: float | None) -> None:
    with FakeOpenAIServer(faults=[fault]) as server:
        error = error_of(provider_for(server), chat())
    assert (error.status_code, error.retryable, error.retry_after) == (status, True, retry_after)
    assert str(status) in error.message


def test_retry_after_http_date_becomes_seconds() -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    with FakeOpenAIServer(faults=[Fault.unavailable(retry_after=when)]) as server:
        error = error_of(provider_for(server), chat())
    assert 25 <= error.retry_after <= 31


def test_timeout_is_retryable_without_status() -> None:
    with FakeOpenAIServer(faults=[Fault.timeout(seconds=5)]) as server:
        started = time.monotonic()
        error = error_of(provider_for(server, timeout=0.3), chat())
        elapsed = time.monotonic() - started
    assert (error.status_code, error.retryable) == (None, True)
    assert "timed out after 0.3s" in error.message
    assert elapsed < 2


def test_dropped_connection_is_retryable() -> None:
    with FakeOpenAIServer(faults=[Fault.dropped()]) as server:
        error = error_of(provider_for(server), chat())
    assert (error.status_code, error.retryable) == (None, True)
    assert error.message.startswith(f"connection to {server.base_url} failed")


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = OpenAIProvider(base_url=f"http://127.0.0.1:{port}/v1", timeout=2)
    error = error_of(provider, chat())
    assert (error.status_code, error.retryable) == (None, True)


def test_malformed_json_body_is_retryable() -> None:
    with FakeOpenAIServer(faults=[Fault.malformed()]) as server:
        error = error_of(provider_for(server), chat())
    assert (error.status_code, error.retryable) == (200, True)
    assert "malformed reply" in error.message


@pytest.mark.parametrize(("fault", "status", "expected"), [
    (Fault.unauthorized(), 401, "401 unauthorized: check OPENAI_API_KEY"),
    (Fault.http_error(403, "not allowed", error_type="permission_error"), 403, "403 forbidden"),
    (Fault.http_error(400, "messages must not be empty", error_type="invalid_request_error"), 400,
     "400 bad request for model 'fake-model': messages must not be empty"),
    (Fault.http_error(422, "temperature out of range"), 422, "temperature out of range"),
], ids=["401", "403", "400", "422"])
def test_permanent_http_errors_are_not_retryable(fault: Fault, status: int, expected: str) -> None:
    with FakeOpenAIServer(faults=[fault]) as server:
        error = error_of(provider_for(server), chat())
    assert (error.status_code, error.retryable, error.retry_after) == (status, False, None)
    assert expected in error.message


def test_unknown_model_names_model_and_base_url() -> None:
    with FakeOpenAIServer(models=["fake-model"]) as server:
        error = error_of(provider_for(server), chat(model="nope-7b"))
        assert f"404: model 'nope-7b' not found at {server.base_url}" in error.message
    assert (error.status_code, error.retryable) == (404, False)


# -- API key -----------------------------------------------------------------------------------

def test_key_is_read_from_the_named_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-123")
    with FakeOpenAIServer(api_key="sk-test-123") as server:
        response = provider_for(server, api_key_env="DEEPSEEK_API_KEY").complete(chat())
    assert response.text


def test_wrong_key_gives_401_naming_the_variable_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-secret-value")
    echoing = Fault.http_error(401, "Incorrect API key provided: sk-secret-value", error_type="invalid_request_error")
    with FakeOpenAIServer(faults=[echoing]) as server:
        provider = provider_for(server, api_key_env="MY_KEY")
        error = error_of(provider, chat())
    assert "check MY_KEY" in error.message
    assert "sk-secret-value" not in str(error) and "sk-secret-value" not in repr(provider)


def test_loopback_server_needs_no_key() -> None:
    with FakeOpenAIServer(api_key=LOOPBACK_PLACEHOLDER_KEY) as server:
        assert provider_for(server).complete(chat()).text


def test_remote_server_without_key_is_a_clear_error() -> None:
    with pytest.raises(ProviderError) as info:
        OpenAIProvider(base_url="https://api.deepseek.com/v1", api_key_env="DEEPSEEK_API_KEY")
    assert "DEEPSEEK_API_KEY is not set" in info.value.message
    assert info.value.retryable is False


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8080/v1", True), ("http://127.8.0.2/v1", True), ("http://localhost:11434/v1", True),
    ("http://[::1]:8000/v1", True), ("https://api.openai.com/v1", False), ("http://10.0.0.5/v1", False),
])
def test_is_loopback_url(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


# -- construction and registry -----------------------------------------------------------------

def test_registered_as_openai_and_settings_map_to_attributes() -> None:
    provider = create_provider("openai", {"base_url": "http://127.0.0.1:9/v1/", "concurrency": 3, "timeout": 12})
    assert isinstance(provider, OpenAIProvider)
    assert (provider.base_url, provider.max_concurrency, provider.timeout) == ("http://127.0.0.1:9/v1", 3, 12.0)
    assert provider.describe_model("m") == "m@http://127.0.0.1:9/v1"
    provider.close()


def test_unknown_or_invalid_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'api_key'"):
        create_provider("openai", {"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-x"})
    with pytest.raises(ConfigError, match="2 problems"):
        OpenAIProvider(base_url="http://127.0.0.1:9/v1", timeout=0, concurrency=0)


def test_key_never_reaches_the_logs(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MY_KEY", "sk-secret-value")
    caplog.set_level("DEBUG")  # root: captures the SDK's, httpx's and our own debug records
    with FakeOpenAIServer(api_key="sk-secret-value", reject_response_format=True) as server:
        provider = provider_for(server, api_key_env="MY_KEY")
        provider.complete(chat(json_mode=True))
    assert caplog.records, "expected some debug logging to inspect"
    assert "sk-secret-value" not in caplog.text
