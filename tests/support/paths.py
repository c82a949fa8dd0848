"""Where tests find the repo, its sample digest and config, and the shared data folder.

:func:`shared` is the one guard for ``../shared/data``: a missing file skips the test on a
developer's partial checkout and fails it in CI (:func:`support.requirements.missing`).
"""

from __future__ import annotations

from pathlib import Path

from support.requirements import missing

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "samples" / "seed-digest.md"
CONFIG = REPO / "config.yaml"
SHARED_DATA = REPO.parent / "shared" / "data"


def shared(*parts: str) -> Path:
    """``../shared/data/<parts>``; :func:`missing` (skip, or fail in CI) when it is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        missing(f"shared data not found: {path}")
    return path
