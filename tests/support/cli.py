"""The one way tests drive the command line: :func:`run_cli` invokes ``digest-pipeline`` in process."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from support.paths import CONFIG

from pipeline.cli import app


def run_cli(*args: str | Path, env: Mapping[str, str] | None = None, prog_name: str = "digest-pipeline") -> Result:
    """``digest-pipeline ARGS...`` in this process; the result has ``exit_code``, ``stdout``,
    ``stderr`` and ``output``. Paths may be passed as :class:`~pathlib.Path`."""
    return CliRunner().invoke(app, [str(a) for a in args], env=env, prog_name=prog_name)


def fake_options(tmp_path: Path) -> tuple[str | Path, ...]:
    """Options of a run with the repo config and the fake provider, writing its outputs to
    ``tmp_path/out`` and its cache to ``tmp_path/cache``."""
    return ("--config", CONFIG, "--provider", "fake", "--out", tmp_path / "out", "--cache-dir", tmp_path / "cache")
