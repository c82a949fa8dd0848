"""What a test needs from the machine: skipped on a developer's partial install, a failure in CI.

CI (``CI=true``, set by the CI runner) installs every extra and has ``../shared/data`` beside the
checkout, so a missing piece there is a broken set-up that must not pass as a skip.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def missing(reason: str) -> None:
    """Skip the test (or, called at import, the module) with ``reason``; fail it in CI."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (required in CI)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_module(name: str, hint: str = "pip install -e '.[local]'") -> ModuleType:
    """Import ``name``; :func:`missing` when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"{name} is not installed ({hint})")
        raise  # unreachable: missing() always raises
