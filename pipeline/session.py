"""The one start-up and shutdown of every command that calls models: ``run``, ``rerun``, ``eval``
(and ``run --dry-run``, which only reads).

:func:`open_session` takes a checked config and gives a :class:`Session`: the stage cache, and the
providers built on demand (:meth:`Session.provider`; variants with the same provider and settings
share one, so a local model loads once), each checked for every model its config's stages use
before any call (an unknown local model stops the command at once, not after the stages before
it ran). Leaving the ``with`` block closes the cache and every provider, whatever happened.
``validate`` needs no config or provider and does not use a session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pipeline.cache import CacheStore, DiskCacheStore, MemoryCacheStore
from pipeline.config import LoadedConfig
from pipeline.llm import create_provider
from pipeline.llm.base import Provider
from pipeline.stages.registry import stage_names


def open_cache(loaded: LoadedConfig, no_cache: bool) -> CacheStore:
    """The configured cache store (memory-only with ``--no-cache`` or ``cache.enabled: false``)."""
    if no_cache or not loaded.config.cache.enabled:
        return MemoryCacheStore()
    return DiskCacheStore(loaded.cache_dir())


def check_models(provider: Provider, loaded: LoadedConfig) -> None:
    """Ask ``provider`` about every model the config's stages use, before any call. Raises
    ModelNotAvailableError (a remote model is only known to its server: not checked)."""
    for stage in stage_names():
        model = loaded.config.stage(stage).model
        if model:
            provider.describe_model(model)


@dataclass
class Session:
    """A command's ``loaded`` config, its cache and the providers it built (module docstring).
    The cache is opened on first use (:attr:`cache`), so a command that stops on its provider
    leaves no cache folder behind."""

    loaded: LoadedConfig
    no_cache: bool = False
    _cache: CacheStore | None = field(default=None, repr=False)
    _providers: dict[str, Provider] = field(default_factory=dict, repr=False)

    @property
    def cache(self) -> CacheStore:
        """The stage cache (:func:`open_cache`), opened on first use."""
        if self._cache is None:
            self._cache = open_cache(self.loaded, self.no_cache)
        return self._cache

    def provider(self, loaded: LoadedConfig | None = None) -> Provider:
        """The provider of ``loaded`` (default: the session's config), built on first use and
        checked for every model its stages use. Raises ConfigError, ProviderError,
        ModelNotAvailableError."""
        loaded = loaded or self.loaded
        config = loaded.config
        settings = config.provider_settings()
        key = json.dumps([config.provider, settings], sort_keys=True, default=repr)
        if key not in self._providers:
            self._providers[key] = create_provider(config.provider, settings)
        check_models(self._providers[key], loaded)
        return self._providers[key]

    def close(self) -> None:
        """Close the cache (if opened) and every provider built."""
        try:
            if self._cache is not None:
                self._cache.close()
        finally:
            for provider in self._providers.values():
                provider.close()


@contextmanager
def open_session(loaded: LoadedConfig, *, no_cache: bool = False) -> Iterator[Session]:
    """A :class:`Session` for ``loaded`` (``no_cache``: keep the cache in memory), closed on exit."""
    session = Session(loaded, no_cache)
    try:
        yield session
    finally:
        session.close()
