"""Hardening of the CLI: error lines that name the path, exit codes, help text, no credentials."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from support.cli import run_cli
from support.paths import CONFIG, REPO, SEED


from pipeline.messages import MAX_WORD, os_error_line, shorten, shorten_words



# --------------------------------------------------------------------------- 3: OSError lines


def test_os_error_line_names_path_and_reason() -> None:
    assert os_error_line(OSError(errno.ENOSPC, "No space left on device", "/out/papers/x.json")) == (
        "/out/papers/x.json: No space left on device [ENOSPC]")
    assert os_error_line(OSError(errno.EXDEV, "Invalid cross-device link", "/a", None, "/b")) == (
        "/a -> /b: Invalid cross-device link [EXDEV]")
    assert os_error_line(OSError(errno.ENOSPC, "No space left on device")) == "No space left on device [ENOSPC]"


def test_long_paths_are_cut_in_the_middle() -> None:
    path = "/tmp/out/" + "a" * 5000 + ".json"
    short = shorten(path)
    assert len(short) <= MAX_WORD and short.startswith("/tmp/out/aaa") and short.endswith("aaa.json")
    assert "[4,9" in short                                            # says how much was left out
    line = os_error_line(OSError(errno.ENAMETOOLONG, "File name too long", path))
    assert len(line) < 200 and line.endswith("File name too long [ENAMETOOLONG]")
    assert shorten_words("a b  " + "c" * 50) == "a b  " + "c" * 50      # short words and spacing kept


def test_out_with_a_too_long_name_is_one_short_line(tmp_path: Path) -> None:
    out = tmp_path / ("b" * 300)
    result = run_cli("run", str(SEED), "--config", CONFIG, "--provider", "fake",
                                 "--limit", "1", "--out", str(out), "--cache-dir", str(tmp_path / "c"))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {str(tmp_path)[:30]}") and "...[" in line and len(line) < 250
    assert line.endswith(("bbb/seed-digest: File name too long [ENAMETOOLONG]",
                          "bbb/seed-digest/papers: File name too long [ENAMETOOLONG]")), line


def _limit_file_size() -> None:
    """In the child: files may not grow past 3,000 bytes, and write() fails (EFBIG) instead of a signal."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))


def test_a_write_that_fails_mid_file_names_the_file(tmp_path: Path) -> None:
    """A full disk fails in write(), whose OSError carries no path; a file-size limit fails the same way."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(SEED), "--config", CONFIG,
         "--provider", "fake", "--no-cache", "--limit", "2", "--out", str(tmp_path / "out")],
        preexec_fn=_limit_file_size, capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()[-1:]
    papers = tmp_path / "out" / "seed-digest" / "papers"
    assert line.startswith(f"error: {papers}/") and line.endswith(".json: File too large [EFBIG]"), line
    assert "Traceback" not in result.stderr
    assert not list(papers.glob(".*.tmp"))                           # the temp file is cleaned up


# --------------------------------------------------------------------------- 6: --debug keeps the exit code


def _error_cases(tmp_path: Path) -> dict[str, list[str]]:
    """One failing invocation per command that takes --debug (each exits 2 without it)."""
    missing = str(tmp_path / "nonexistent.md")
    config = ["--config", CONFIG, "--provider", "fake", "--cache-dir", str(tmp_path / "c")]
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    return {
        "parse": ["parse", missing],
        "run": ["run", missing, *config, "--out", str(tmp_path / "o")],
        "run --dry-run": ["run", missing, *config, "--dry-run"],
        "run, bad --ids": ["run", str(SEED), *config, "--ids", "notanid"],
        "run, --out is a file": ["run", str(SEED), *config, "--limit", "1", "--out", str(tmp_path / "afile")],
        "rerun": ["rerun", "2601.16302", "--digest", str(SEED), *config, "--out", str(tmp_path / "none")],
        "rerun, bad id": ["rerun", "notanid", "--digest", str(SEED), *config],
        "validate": ["validate", str(tmp_path / "nowhere")],
        "eval": ["eval", missing, *config, "--out", str(tmp_path / "e")],
        "eval, bad --ids": ["eval", str(SEED), *config, "--ids", "notanid"],
    }


def test_debug_adds_the_traceback_and_keeps_the_exit_code(tmp_path: Path) -> None:
    for name, args in _error_cases(tmp_path).items():
        plain = run_cli(*args)
        debug = run_cli(*args, "--debug")
        assert plain.exit_code == 2, (name, plain.output)
        assert debug.exit_code == plain.exit_code, (name, debug.output, debug.exception)
        assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr, name
        line = plain.stderr.strip().splitlines()[-1]
        assert line.startswith("error: ") and debug.stderr.strip().splitlines()[-1] == line, name


def test_debug_keeps_the_exit_code_in_a_real_process(tmp_path: Path) -> None:
    """Outside CliRunner too: an uncaught exception would make the interpreter exit 1."""
    codes = [subprocess.run([sys.executable, "-m", "pipeline.cli", "parse", str(tmp_path / "none.md"), *debug],
                            capture_output=True, text=True, cwd=REPO, timeout=60).returncode
             for debug in ([], ["--debug"])]
    assert codes == [2, 2]


# --------------------------------------------------------------------------- 7: help and README


def test_usage_lines_name_arguments_as_the_readme_does() -> None:
    expected = {"run": "DIGEST...", "rerun": "ARXIV_ID", "parse": "DIGEST", "validate": "PATH", "eval": "DIGEST"}
    for command, argument in expected.items():
        result = run_cli(command, "--help", prog_name="digest-pipeline")
        assert result.exit_code == 0
        usage = result.stdout.splitlines()[0]
        assert usage == f"Usage: digest-pipeline {command} [OPTIONS] {argument}", usage
    missing = run_cli("rerun")
    assert missing.exit_code == 2 and "Missing argument 'ARXIV_ID'" in missing.output


def _quick_start_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in section.split("```bash")[1:] for block in [block.split("```")[0]]]


def test_readme_quick_start_tries_ten_papers_first_and_says_how_long_the_whole_sample_takes() -> None:
    first, whole, tests = _quick_start_commands()
    assert first.startswith("python3 -m venv .venv && CMAKE_ARGS=-DGGML_NATIVE=OFF .venv/bin/pip install -e '.[local]' && ")
    assert first.endswith("digest-pipeline run samples/seed-digest.md --limit 10")
    assert whole == ".venv/bin/digest-pipeline run samples/seed-digest.md"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "about half an hour" in quick_start and "129 papers" in quick_start
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert tests == ci                                   # CI runs exactly the README's test command
