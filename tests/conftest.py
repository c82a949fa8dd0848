"""Shared fixtures: repo paths, the shared data folder, and a fake-provider config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.requirements import missing

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SEED = REPO / "samples" / "seed-digest.md"


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        missing(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def fake_config_overrides(tmp_path: Path) -> list[str]:
    """Overrides that point the repo config at the fake provider and temp output/cache folders."""
    return ["provider=fake", f"cache.dir={tmp_path / 'cache'}", f"run.out_dir={tmp_path / 'out'}"]
