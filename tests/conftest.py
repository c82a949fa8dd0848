"""Shared fixtures: repo paths, the shared data folder, fake providers registered per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fakes import FakeRegistry, fake_provider_registry
from support.paths import REPO, shared

os.environ.setdefault("OMP_WAIT_POLICY", "passive")


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (skipped on a partial checkout, a failure in CI)."""
    return shared()


@pytest.fixture
def fake_provider() -> Iterator[FakeRegistry]:
    """``fake_provider(responder=None, **settings) -> name``: a fake provider registered under a
    unique name for this test only (default stage settings included), unregistered afterwards."""
    with fake_provider_registry() as registry:
        yield registry

