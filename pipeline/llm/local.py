"""The ``local`` provider: llama-cpp-python running GGUF files that ship inside PyPI packages.

Offline by construction: no code path downloads anything. Model names it knows:

``gemma3-270m``, ``smollm2-135m``
    Gemma 3 270M *base* and SmolLM2-135M-Instruct, from their PyPI packages
    (:mod:`pipeline.llm.gguf` finds, assembles and verifies the files).
a name in the ``models`` setting
    ``{name: path}`` for extra GGUF files.
a path ending in ``.gguf``
    used as is.

Settings (``providers.local.settings`` in config): ``n_threads`` (default 2: llama.cpp threads
of each model instance), ``instances`` (default 1: copies of each model, each answering one call
at a time; the runner then processes that many papers at once -- on 2 cores, 2 instances of 1
thread each answer more calls per second than 1 instance of 2 threads: llama.cpp's evaluation
releases the GIL), ``n_ctx`` (context window in tokens, default 2048), ``model_dir`` (where assembled GGUFs and hash sidecars go,
default ``~/.cache/digest-pipeline/models``), ``models`` (see above), ``suppress_cjk`` (default
true: every generation is barred from emitting CJK characters, see below).

CJK suppression: every output the pipeline asks for is English, and the small embedded models
often answer a Chinese source by echoing it. With ``suppress_cjk`` the tokens that would write
CJK ideographs, kana, Hangul, CJK or full-width punctuation (including byte-fallback pieces of
such characters) get a logit of -inf, so the model must write English. The token mask is built
once per loaded model (~0.7 s for Gemma's 262k-token vocabulary) and the setting is part of
:meth:`LocalProvider.describe_model`, so cached outputs made with and without it never mix.

Each model is loaded once per process and instance (module-level cache keyed by resolved path +
``n_ctx``; the first loader's ``n_threads`` wins) and calls to one instance are serialized with a
lock, so the provider is safe to call from the pipeline's thread pool. A call goes to the free
instance that last served the same paper when there is one (llama.cpp then re-evaluates only the
part of the prompt after the prefix it shares with that instance's previous prompt: the few-shot
examples and the paper's own text), else to any free instance. ``OMP_WAIT_POLICY=passive`` is set
when this module is imported, which must happen before llama_cpp is imported: on a 2-core
machine with other work running, busy-waiting OpenMP threads slowed Gemma generation from ~19 to
~0.5 tokens/s in our measurement (a warning is logged if llama_cpp came first).

Context overflow: a prompt that does not fit in ``n_ctx`` raises a non-retryable
:class:`~pipeline.errors.RequestTooLargeError` (nothing is silently cut from the input; a
translation of half a field would pass for a whole one): a re-ask that does not fit ends that
field's re-asks, a first answer that does not fit fails its paper, and the run goes on. When the
prompt fits but ``prompt + max_tokens`` does not, llama.cpp caps generation at the space left
and the response says ``finish_reason="length"``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LLAMA_IMPORTED_TOO_EARLY = "llama_cpp" in sys.modules and "OMP_WAIT_POLICY" not in os.environ
os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # before any llama_cpp import (see docstring)

from pydantic import Field, StrictBool, StrictInt  # noqa: E402

from pipeline.errors import ModelNotAvailableError, ProviderError, RequestTooLargeError  # noqa: E402

from pipeline.llm.base import (  # noqa: E402
    Capabilities,
    LLMRequest,
    LLMResponse,
    Provider,
    ProviderSettings,
    checked_settings,
    register_provider,
)

from pipeline.llm.cjk_mask import cjk_token_ids, suppress_logits  # noqa: E402
from pipeline.llm.gguf import (  # noqa: E402
    GEMMA_NAME,
    INSTALL_HINT,
    KNOWN_MODELS,
    SMOLLM2_NAME,
    existing_gguf,
    file_sha256,
    gemma_gguf,
    sidecar_path,
    smollm2_gguf,
)

PROVIDER_NAME = "local"
DEFAULT_MODEL_DIR = Path("~/.cache/digest-pipeline/models")
_log = logging.getLogger(__name__)


# -- loaded-model cache (process-wide) ------------------------------------------------------

@dataclass
class _LoadedModel:
    """One ``llama_cpp.Llama`` plus the lock that serializes calls to it."""

    llm: Any
    lock: threading.Lock
    path: Path
    n_ctx: int
    cjk_token_ids: Any = None  # numpy int array, built on first use by _cjk_token_ids()
    last_paper: str | None = None  # the paper of the last call (prefix reuse, module docstring)


_MODELS: dict[tuple[str, int, int], _LoadedModel] = {}
_MODELS_LOCK = threading.Lock()
_FREE = threading.Condition()  # notified whenever an instance's lock is released


def unload_models() -> None:
    """Drop every loaded model (frees the weights once no provider call holds them)."""
    with _MODELS_LOCK:
        for loaded in _MODELS.values():
            with loaded.lock:
                loaded.llm.close()
        _MODELS.clear()


def _take(instances: list[_LoadedModel], paper: str | None) -> _LoadedModel:
    """Lock and return a free instance, preferring the one that last served ``paper``; waits
    while every instance is busy."""
    with _FREE:
        while True:
            for loaded in sorted(instances, key=lambda m: m.last_paper != paper or paper is None):
                if loaded.lock.acquire(blocking=False):
                    return loaded
            _FREE.wait()


def _give_back(loaded: _LoadedModel, paper: str | None) -> None:
    with _FREE:
        loaded.last_paper = paper
        loaded.lock.release()
        _FREE.notify_all()  # the waiters may wait for different models


_LLAMA_LOG_CALLBACK: Any = None  # kept referenced: llama.cpp calls it from C


def _route_llama_log() -> None:
    """Send llama.cpp's own log lines to this module's logger (errors as errors, the rest at
    debug) instead of stderr: llama-cpp-python's handler reads the levels with an old numbering
    and prints warnings such as "llama_kv_cache_iswa: using full-size SWA cache" even with
    ``verbose=False``. Levels per ggml.h: 1 debug, 2 info, 3 warn, 4 error, 5 continuation."""
    global _LLAMA_LOG_CALLBACK
    if _LLAMA_LOG_CALLBACK is not None:
        return
    import ctypes

    import llama_cpp

    last = [logging.DEBUG]

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        if level != 5:
            last[0] = logging.ERROR if level == 4 else logging.DEBUG
        line = text.decode("utf-8", "replace").rstrip()
        if line:
            _log.log(last[0], "llama.cpp: %s", line)

    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    _LLAMA_LOG_CALLBACK = callback


def _load_model(model: str, path: Path, n_ctx: int, n_threads: int, instance: int = 0) -> _LoadedModel:
    """The process-wide ``Llama`` number ``instance`` for ``(path, n_ctx)``, loading it on first use.

    Raises:
        ModelNotAvailableError: llama-cpp-python is not installed, or llama.cpp cannot load
            the file (not a GGUF, unsupported architecture, out of memory).
    """
    key = (str(path), n_ctx, instance)
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is not None:
            return loaded
        if _LLAMA_IMPORTED_TOO_EARLY:
            _log.warning("llama_cpp was imported before pipeline.llm.local without OMP_WAIT_POLICY set; "
                         "generation may be ~10x slower on a busy machine (set OMP_WAIT_POLICY=passive)")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelNotAvailableError(model, f"llama-cpp-python is not importable ({exc}); {INSTALL_HINT}") from exc
        _route_llama_log()
        try:
            llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                        n_threads_batch=n_threads, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelNotAvailableError(model, f"llama.cpp cannot load {path}: {exc}") from exc
        loaded = _LoadedModel(llm=llm, lock=threading.Lock(), path=path, n_ctx=n_ctx)
        _MODELS[key] = loaded
        return loaded


# -- CJK suppression (pipeline.llm.cjk_mask) ---------------------------------------------------

def _cjk_token_ids(loaded: _LoadedModel) -> Any:
    """Ids of the model's tokens that write CJK text (numpy int array, cached on ``loaded``)."""
    if loaded.cjk_token_ids is None:
        loaded.cjk_token_ids = cjk_token_ids(loaded.llm)
    return loaded.cjk_token_ids


# -- the provider ----------------------------------------------------------------------------

class LocalSettings(ProviderSettings):
    """``providers.local.settings`` (module docstring)."""

    n_threads: StrictInt = Field(2, ge=1, description="llama.cpp threads of each model instance")
    instances: StrictInt = Field(1, ge=1, le=8, description="copies of each model answering calls at once")
    n_ctx: StrictInt = Field(2048, ge=256, description="context window, tokens")
    model_dir: Path | None = None
    models: dict[str, Path] | None = None
    suppress_cjk: StrictBool = True


class LocalProvider(Provider):
    """Runs GGUF models in-process with llama-cpp-python; see the module docstring.

    Construction is cheap and never loads a model; names are resolved (and Gemma assembled) on
    the first :meth:`model_path`, :meth:`describe_model` or :meth:`complete` for that name.

    Raises (constructor):
        ConfigError: unknown or invalid settings.
    """

    name = PROVIDER_NAME
    max_concurrency = 1

    def __init__(self, n_threads: int = 2, n_ctx: int = 2048, model_dir: str | Path | None = None,
                 models: dict[str, str | Path] | None = None, suppress_cjk: bool = True, instances: int = 1,
                 **unknown: Any) -> None:
        checked_settings(LocalSettings, dict(n_threads=n_threads, n_ctx=n_ctx, model_dir=model_dir, models=models,
                                             suppress_cjk=suppress_cjk, instances=instances, **unknown),
                         "providers.local.settings")
        self.n_threads = int(n_threads)
        self.instances = int(instances)
        self.max_concurrency = self.instances  # papers processed at once: one per instance
        self.n_ctx = int(n_ctx)
        self.model_dir = Path(model_dir or DEFAULT_MODEL_DIR).expanduser()
        self.models = {str(k): Path(v).expanduser() for k, v in (models or {}).items()}
        self.suppress_cjk = suppress_cjk
        self._paths: dict[str, Path] = {}
        self._identities: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"LocalProvider(n_threads={self.n_threads}, instances={self.instances}, n_ctx={self.n_ctx}, "
                f"model_dir={str(self.model_dir)!r})")

    def model_path(self, model: str) -> Path:
        """The GGUF file for ``model`` (see the module docstring for the names accepted).

        Raises:
            ModelNotAvailableError: unknown name, package not installed, or file missing.
        """
        with self._lock:
            if model not in self._paths:
                self._paths[model] = self._resolve(model)
            return self._paths[model]

    def _resolve(self, model: str) -> Path:
        if model in self.models:
            return existing_gguf(model, self.models[model])
        if model == GEMMA_NAME:
            return gemma_gguf(self.model_dir)
        if model == SMOLLM2_NAME:
            return smollm2_gguf()
        if model.lower().endswith(".gguf"):
            return existing_gguf(model, Path(model).expanduser())
        known = ", ".join([*KNOWN_MODELS, *sorted(self.models)])
        raise ModelNotAvailableError(model, f"unknown local model; known: {known}, or a path to a .gguf file")

    def describe_model(self, model: str) -> str:
        """``<name>@sha256:<16 hex>`` plus ``+nocjk`` with ``suppress_cjk`` (a path name
        contributes its file name only).

        The hash is of the GGUF file, cached in a ``.sha256.json`` sidecar (next to assembled
        models; under ``model_dir/hashes`` for files elsewhere) so it is computed once per file.
        """
        path = self.model_path(model)
        with self._lock:
            if model not in self._identities:
                label = Path(model).name if model.lower().endswith(".gguf") else model
                suffix = "+nocjk" if self.suppress_cjk else ""
                self._identities[model] = f"{label}@sha256:{file_sha256(path, self._sidecar_for(path))[:16]}{suffix}"
            return self._identities[model]

    def _sidecar_for(self, path: Path) -> Path:
        if path.parent == self.model_dir:
            return sidecar_path(path)
        tag = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        hashes = self.model_dir / "hashes"
        try:
            hashes.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # _write_sidecar tolerates an unwritable folder
        return hashes / f"{path.name}.{tag}.sha256.json"

    def llama(self, model: str) -> Any:
        """The process-wide ``llama_cpp.Llama`` for ``model`` at this provider's ``n_ctx``
        (loaded on first use; the same object for every provider). Callers must not use it
        concurrently with :meth:`complete`.

        Raises:
            ModelNotAvailableError: the model cannot be resolved or loaded.
        """
        return self._loaded(model).llm

    def _loaded(self, model: str, instance: int = 0) -> _LoadedModel:
        return _load_model(model, self.model_path(model), self.n_ctx, self.n_threads, instance)

    def complete(self, request: LLMRequest) -> LLMResponse:
        """Run one request on the named model (loaded on first use, then reused).

        ``completion`` uses ``create_completion`` on the raw prompt; ``chat`` uses
        ``create_chat_completion`` with the GGUF's own chat template. ``json_mode`` constrains
        output with llama.cpp's JSON grammar. Text is returned as generated (not stripped).

        Raises:
            ModelNotAvailableError: the model cannot be resolved or loaded.
            ProviderError: (not retryable) the prompt does not fit in ``n_ctx``, or llama.cpp
                failed during evaluation.
        """
        paper = request.tags.get("paper")
        loaded = _take([self._loaded(request.model, i) for i in range(self.instances)], paper)
        try:
            banned = _cjk_token_ids(loaded) if self.suppress_cjk else None
            try:
                raw = _run(loaded.llm, request, banned)
            except ValueError as exc:
                raise _context_error(request, loaded, exc) from exc
            except RuntimeError as exc:
                raise ProviderError(PROVIDER_NAME, f"llama.cpp failed on model {request.model}: {exc}") from exc
        finally:
            _give_back(loaded, paper)
        return _response(raw, request)


def _run(llm: Any, request: LLMRequest, banned_tokens: Any = None) -> dict[str, Any]:
    """Call llama_cpp for ``request`` (never emitting ``banned_tokens``, a numpy id array, if
    given); returns its OpenAI-shaped response dict."""
    params: dict[str, Any] = dict(max_tokens=request.max_tokens, temperature=request.temperature,
                                  top_p=request.top_p, seed=request.seed, stop=list(request.stop))
    if banned_tokens is not None and len(banned_tokens):
        params["logits_processor"] = suppress_logits(banned_tokens)
    if request.kind == "completion":
        if request.json_mode:
            params["grammar"] = _json_grammar()
        return llm.create_completion(prompt=request.prompt, **params)
    if request.json_mode:
        params["response_format"] = {"type": "json_object"}
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    return llm.create_chat_completion(messages=messages, **params)


def _json_grammar() -> Any:
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar
    return LlamaGrammar.from_string(JSON_GBNF, verbose=False)


def _response(raw: dict[str, Any], request: LLMRequest) -> LLMResponse:
    """Map llama_cpp's OpenAI-shaped dict to :class:`LLMResponse`."""
    choice = raw["choices"][0]
    if request.kind == "chat":
        text = choice["message"].get("content") or ""
    else:
        text = choice.get("text") or ""
    usage = raw.get("usage") or {}
    return LLMResponse(text=text, finish_reason=choice.get("finish_reason") or "stop",
                       prompt_tokens=int(usage.get("prompt_tokens", 0)),
                       completion_tokens=int(usage.get("completion_tokens", 0)), model=request.model)


def _context_error(request: LLMRequest, loaded: _LoadedModel, exc: ValueError) -> ProviderError:
    """A clear, non-retryable ProviderError for llama_cpp's ValueErrors (mostly context overflow)."""
    if "exceed context window" in str(exc):
        return RequestTooLargeError(PROVIDER_NAME, f"prompt for model {request.model} does not fit its context window "
                             f"({exc}); shorten the input (e.g. split: sentences) or raise providers.local.settings.n_ctx")
    return ProviderError(PROVIDER_NAME, f"llama.cpp rejected the request for model {request.model}: {exc}")


register_provider(PROVIDER_NAME, lambda settings: LocalProvider(**settings), settings=LocalSettings,
                  capabilities=Capabilities())
