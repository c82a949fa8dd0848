"""The one way tests drive the command line: :func:`run_cli` invokes ``digest-pipeline`` in process."""

from __future__ import annotations

import signal

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


def default_sigint() -> None:
    """``preexec_fn`` for a child process a test interrupts with SIGINT: SIGINT back to its
    default action, so the child's Python turns it into KeyboardInterrupt even when the suite
    runs as a background job (a shell starts those with SIGINT ignored, and Python leaves an
    ignored SIGINT ignored: the child would finish its run and exit 0)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
