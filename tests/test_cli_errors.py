"""Bad arguments and unwritable paths: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, SEED




def _run(repo: Path, *args: str):
    return run_cli("run", SEED, "--config", CONFIG,
                               "--provider", "fake", "--limit", "1", *args)


def _one_line_exit_2(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    for needle in needles:
        assert needle in result.stderr


@pytest.mark.parametrize("ids, needle", [("notanid", "not an arXiv identifier"), (",", "no arXiv id given"),
                                         ("../../etc/passwd", "not an arXiv identifier")])
def test_bad_ids(repo: Path, tmp_path: Path, ids: str, needle: str) -> None:
    _one_line_exit_2(_run(repo, "--ids", ids, "--out", str(tmp_path / "o")), "--ids", needle)
    assert not (tmp_path / "o").exists()


def test_output_root_that_is_a_file(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    _one_line_exit_2(_run(repo, "--out", str(tmp_path / "afile"), "--cache-dir", str(tmp_path / "c")), "afile")


def test_cache_dir_that_is_a_file(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    _one_line_exit_2(_run(repo, "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "afile")),
                     "cache.dir", "afile")


def test_outputs_are_readable_by_others(repo: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        result = _run(repo, "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    for path in (tmp_path / "o" / "seed-digest").rglob("*.*"):
        assert path.stat().st_mode & stat.S_IROTH, path
