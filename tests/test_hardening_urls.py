"""A credential in --base-url (``http://user:key@host/v1``) is used for requests and shown nowhere."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, SEED
from support.eval_config import write_config
from support.fake_openai_server import Fault, FakeOpenAIServer
from support.pipeline_responder import pipeline_responder

from pipeline.errors import ProviderError
from pipeline.llm.base import ChatMessage, LLMRequest
from pipeline.llm.openai_provider import OpenAIProvider
from pipeline.llm.urls import redact_http_logs, redact_url, redact_urls

SEED = Path(__file__).resolve().parents[1] / "samples" / "seed-digest.md"
SECRET = "s3cr3t-Key"
FAST_RETRIES = ["--set", "retry.initial_wait=0.01", "--set", "retry.max_wait=0.05", "--set", "retry.jitter=0",
                "--set", "retry.max_attempts=2"]


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.mark.parametrize("url, shown", [
    ("http://user:key@127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("https://key@api.example.com/v1?x=1#f", "https://api.example.com/v1?x=1#f"),
    ("http://us%40er:p%3Ass@[::1]:80/v1", "http://[::1]:80/v1"),
    ("https://api.openai.com/v1", "https://api.openai.com/v1"),
    ("http://127.0.0.1:8000/v1/a@b", "http://127.0.0.1:8000/v1/a@b"),          # an @ in the path is no userinfo
    ("not a url", "not a url"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_urls_in_text() -> None:
    text = "connect to http://u:k@h:1/v1 failed; see https://t@x.org/a and mail a@b.org"
    assert redact_urls(text) == "connect to http://h:1/v1 failed; see https://x.org/a and mail a@b.org"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_provider_shows_no_credential_and_still_requests_with_it() -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url.replace("http://", f"http://user:{SECRET}@")
        provider = OpenAIProvider(base_url=url, timeout=5)
        request = LLMRequest(kind="chat", model="fake-model", messages=(ChatMessage("user", "hi"),))
        assert provider.complete(request).text == "echo: hi"                 # the real URL is used
        shown = [provider.base_url, repr(provider), provider.describe_model("fake-model")]
        provider.close()
    assert shown == [server.base_url, f"OpenAIProvider(base_url={server.base_url!r}, api_key_env='OPENAI_API_KEY')",
                     f"fake-model@{server.base_url}"]


def test_connection_error_message_has_no_credential() -> None:
    provider = OpenAIProvider(base_url=f"http://user:{SECRET}@127.0.0.1:{_closed_port()}/v1", timeout=2)
    with pytest.raises(ProviderError) as info:
        provider.complete(LLMRequest(kind="chat", model="m", messages=(ChatMessage("user", "hi"),)))
    provider.close()
    assert "connection to http://127.0.0.1:" in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize("faults", [(), lambda _i, _body: Fault.server_error(500)], ids=["answers", "fails"])
def test_run_writes_and_logs_no_credential(tmp_path: Path, caplog: pytest.LogCaptureFixture, faults) -> None:
    config = write_config(tmp_path, provider="openai", providers={"openai": {}})
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer(responder=pipeline_responder, faults=faults) as server:
        url = server.base_url.replace("http://", f"http://user:{SECRET}@")
        result = run_cli("run", str(SEED), "--config", str(config), "--provider", "openai",
                                     "--base-url", url, "--ids", "2601.16272,2601.16302",
                                     "--out", str(tmp_path / "out"), *FAST_RETRIES)
        assert server.request_count > 0
    assert result.exit_code == (0 if faults == () else 1), result.output
    out = tmp_path / "out" / "seed-digest"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 5                          # 2 papers, digest.json, run.json, digest.en.md
    assert not [p for p in files if SECRET in p.read_text(encoding="utf-8")]
    assert SECRET not in result.output and SECRET not in caplog.text
    if faults != ():                                # the error does name the server
        assert f"500 from {server.base_url}" in (out / "papers" / "2601.16272.json").read_text(encoding="utf-8")


def test_http_log_records_lose_their_userinfo(caplog: pytest.LogCaptureFixture) -> None:
    redact_http_logs(("test.http",))
    redact_http_logs(("test.http",))                                     # idempotent: one filter
    assert len(logging.getLogger("test.http").filters) == 1
    with caplog.at_level(logging.INFO):
        logging.getLogger("test.http").info("HTTP Request: %s %s", "POST", f"http://u:{SECRET}@h/v1/x")
        logging.getLogger("test.other").info("kept %s", f"http://u:{SECRET}@h/v1/x")
    assert [r.getMessage() for r in caplog.records] == ["HTTP Request: POST http://h/v1/x",
                                                       f"kept http://u:{SECRET}@h/v1/x"]


@pytest.mark.parametrize("url", ["notaurl", "ftp://user:SECRET@host/v1", "http://", "http://[::1"])
def test_a_malformed_base_url_is_a_config_error_before_any_call(tmp_path: Path, url: str) -> None:
    """Found by a fresh user: ``--base-url notaurl`` was retried 5 times a paper as if the server
    were down (17.6 s for 2 papers, exit 1, outputs written)."""
    result = run_cli("run", SEED, "--config", CONFIG, "--provider", "openai", "--base-url", url,
                     "--out", tmp_path / "out", "--no-cache", env={"OPENAI_API_KEY": "sk-test"})
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "base_url: must be an http:// or https:// URL with a host" in lines[0]
    assert "SECRET" not in result.output and not (tmp_path / "out").exists()
