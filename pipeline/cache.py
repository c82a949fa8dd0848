"""The stage cache: results of model calls stored under content-derived cache keys.

A cache key (:func:`cache_key`) is the sha256 of: stage name, the stage's code version, the
prompt file's content hash, the provider and the model's identity (``Provider.describe_model``),
and the rendered request (prompt text or messages plus sampling parameters, which fold in the
hashes of the stage's inputs). Changing one stage's prompt therefore misses only that stage (and
the stages fed by its output); changing a validator misses nothing, since validation makes no
model call and is never cached.

Stores implement :class:`CacheStore`: :class:`DiskCacheStore` (diskcache, safe across threads
and processes, survives kill -9) and :class:`MemoryCacheStore` for tests.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from pipeline.errors import CacheError, ConfigError
from pipeline.llm.base import LLMRequest
from pipeline.models import Usage


class CacheStore(Protocol):
    """Key/value store of JSON-able dicts. ``get`` returns None on a miss."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, value: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class MemoryCacheStore:
    """In-process store (tests, ``--no-cache`` runs)."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._data.get(key)

    def set(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._data[key] = value

    def close(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> list[str]:
        """Every stored key (tests assert which requests were stored)."""
        with self._lock:
            return list(self._data)


class DiskCacheStore:
    """A :mod:`diskcache` store in ``directory`` (created if missing).

    The cache keeps diskcache's size limit (1 GB by default) but trims to it once, on
    :meth:`close`, rather than checking the volume on every ``set`` (``cull_limit=0``): a write
    then costs one insert.

    Raises ConfigError (one line naming the folder) when the folder cannot hold a cache.
    """

    def __init__(self, directory: str | Path) -> None:
        import diskcache

        self.directory = Path(directory)
        try:
            # SQLite's page cache and memory map are capped at 4 MB each (diskcache's defaults,
            # 32 and 64 MB, let a backfill's memory grow with the size of the cache).
            self._cache = diskcache.Cache(str(self.directory), cull_limit=0, sqlite_cache_size=1024,
                                          sqlite_mmap_size=2**22)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError("cache.dir", [f"cannot open the cache in {self.directory}: {exc}"]) from exc

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored value, or None. Raises CacheError when the database cannot be read."""
        try:
            value = self._cache.get(key)
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(self.directory, str(exc)) from exc
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` (committed at once, so a kill -9 loses no paid reply). Raises CacheError
        when the database cannot be written (``database or disk is full``, read-only...)."""
        try:
            self._cache.set(key, value)
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(self.directory, str(exc)) from exc

    def close(self) -> None:
        """Trim the cache to its size limit (oldest stored first) and close it."""
        import diskcache

        try:
            self._cache.cull()
        except (diskcache.Timeout, OSError, sqlite3.Error):  # busy or full: trim next time
            pass
        self._cache.close()


def cache_key(*, stage: str, stage_version: str, prompt_hash: str, provider: str,
              model_identity: str, request: LLMRequest) -> str:
    """The hex sha256 cache key of one model call (see the module docstring for what enters it)."""
    payload = {
        "stage": stage,
        "stage_version": stage_version,
        "prompt_hash": prompt_hash,
        "provider": provider,
        "model": model_identity,
        "request": {
            "kind": request.kind,
            "prompt": request.prompt,
            "messages": [dict(vars(m)) for m in request.messages],  # asdict() without its deep copy
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": request.seed,
            "stop": list(request.stop),
            "json_mode": request.json_mode,
        },
    }
    if request.json_schema is not None:  # only then: the keys of every earlier request stay as they were
        payload["request"]["json_schema"] = request.json_schema
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


UNREPORTED = "unreported"
"""Key of a stored reply from a batch engine that no run has reported yet: the first run that
uses it counts it as a call it made (its cost, at the model's ``batch_discount``), later runs as
a cache hit (:class:`pipeline.stages.caller.ModelCaller`)."""


def put_reply(cache: CacheStore, key: str, text: str, *, finish_reason: str = "stop", usage: Usage | None = None,
              seconds: float | None = None, batch: bool = False) -> None:
    """Store a raw model reply under ``key`` in the one shape every reader expects: ``text`` as
    received, ``finish_reason``, ``usage`` (prompt/completion tokens and calls, for the savings
    a later cache hit reports) and ``seconds`` (wall time of the call; None when unknown, e.g. an
    answer from a batch engine). ``batch``: the answer came from a provider's batch engine: its
    usage is marked as such (``Usage.batch_*``) and the entry as :data:`UNREPORTED`."""
    usage = usage or Usage()
    entry = {"text": text, "finish_reason": finish_reason, "usage": (usage.as_batch() if batch else usage).model_dump(),
             "seconds": seconds}
    if batch:
        entry[UNREPORTED] = True
    cache.set(key, entry)
