"""Fake providers registered for one test only (after simonw/llm's per-test mock models).

:func:`fake_provider_registry` backs the ``fake_provider`` fixture of ``tests/conftest.py``: each
call registers a :class:`~pipeline.llm.fake.FakeProvider` under a unique name, with the fake
provider's settings model, capabilities and default stage settings (so a config needs no
``providers.<name>`` section), and every name is unregistered when the test ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.llm.base import Provider, register_provider, unregister_provider
from pipeline.llm.fake import CAPABILITIES, STAGES, FakeSettings, Responder, register_fake

_COUNTER = itertools.count(1)


class FakeRegistry:
    """``register(responder=None, *, name=None, factory=None, **settings) -> name`` (see module doc).

    ``factory(settings) -> Provider`` replaces the FakeProvider (a provider that fails on purpose,
    or one that records its instances); ``settings`` are the FakeProvider's defaults."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, responder: Responder | None = None, *, name: str | None = None,
                 factory: Callable[[dict[str, Any]], Provider] | None = None, **settings: Any) -> str:
        name = name or f"fake-test-{next(_COUNTER)}"
        if factory is None:
            register_fake(name, responder, **settings)
        else:
            register_provider(name, factory, settings=FakeSettings, capabilities=CAPABILITIES, stages=STAGES)
        self.names.append(name)
        return name


@contextmanager
def fake_provider_registry() -> Iterator[FakeRegistry]:
    """A :class:`FakeRegistry` whose providers are unregistered on exit."""
    registry = FakeRegistry()
    try:
        yield registry
    finally:
        for name in registry.names:
            unregister_provider(name)
