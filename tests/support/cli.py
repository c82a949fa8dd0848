"""The one way tests drive the command line: :func:`run_cli` invokes ``digest-pipeline`` in process."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from pipeline.cli import app


def run_cli(*args: str | Path, env: Mapping[str, str] | None = None) -> Result:
    """``digest-pipeline ARGS...`` in this process; the result has ``exit_code``, ``stdout``,
    ``stderr`` and ``output``. Paths may be passed as :class:`~pathlib.Path`."""
    return CliRunner().invoke(app, [str(a) for a in args], env=env)
