"""The output-folder lock (pipeline.output.lock) between real processes, including a kill -9'd holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO

from pipeline.errors import OutputLockedError, PipelineError
from pipeline.output.lock import LOCK_NAME, output_lock


HOLDER = """
import sys
from pathlib import Path
from pipeline.output.lock import output_lock
with output_lock(Path(sys.argv[1]), sys.argv[2]):
    print("locked", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""

CONTENDER = """
import os, sys, time
from pathlib import Path
from pipeline.errors import OutputLockedError
from pipeline.output.lock import output_lock
out, marker, deadline = Path(sys.argv[1]), Path(sys.argv[2]), time.monotonic() + float(sys.argv[3])
held = overlaps = 0
while time.monotonic() < deadline:
    try:
        with output_lock(out, "run"):
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                overlaps += 1
                continue
            held += 1
            time.sleep(0.0005)
            marker.unlink()
    except OutputLockedError:
        pass
print(held, overlaps)
"""


def _holder(out_dir: Path, command: str = "run") -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(out_dir), command], cwd=REPO, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    return process


def _release(process: subprocess.Popen) -> None:
    out, _ = process.communicate("\n", timeout=30)
    assert process.returncode == 0 and out.strip() == "released"


def test_a_second_process_is_refused_naming_the_holder(tmp_path: Path) -> None:
    out_dir = tmp_path / "outputs" / "seed-digest"
    holder = _holder(out_dir, "rerun")
    try:
        with pytest.raises(OutputLockedError) as info:
            with output_lock(out_dir, "run"):
                pytest.fail("took a lock another live process holds")
    finally:
        _release(holder)
    error = info.value
    assert isinstance(error, PipelineError) and error.exit_code == 2
    assert error.holder["pid"] == holder.pid and error.holder["command"] == "rerun"
    message = str(error)
    assert "\n" not in message and str(out_dir) in message
    assert f"PID {holder.pid}" in message and "'rerun'" in message and error.holder["started_at"] in message
    with output_lock(out_dir, "run") as lock:                       # free again once released
        assert lock.taken_over == {}                                # released cleanly: nothing stale
    assert not (out_dir / LOCK_NAME).exists()


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert (tmp_path / LOCK_NAME).exists()                          # left behind, but no longer locked
    with output_lock(tmp_path, "run") as lock:
        assert lock.taken_over["pid"] == holder.pid and lock.taken_over["command"] == "run"
        assert lock.holder["pid"] == os.getpid()


def test_different_output_folders_do_not_block_each_other(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "day1")
    try:
        with output_lock(tmp_path / "day2", "run") as lock:
            assert lock.path == tmp_path / "day2" / LOCK_NAME
    finally:
        _release(holder)


def test_the_same_process_cannot_take_its_own_folder_twice(tmp_path: Path) -> None:
    with output_lock(tmp_path, "run"):
        with pytest.raises(OutputLockedError) as info:
            with output_lock(tmp_path, "validate"):
                pass
    assert info.value.holder["pid"] == os.getpid()


def test_without_create_a_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        with output_lock(tmp_path / "missing", "rerun", create=False):
            pass
    assert info.value.filename == str(tmp_path / "missing" / LOCK_NAME)
    assert not (tmp_path / "missing").exists()


def test_contending_processes_never_hold_the_folder_together(tmp_path: Path) -> None:
    """Four processes take and release the lock as fast as they can for 2 s; a marker file made
    with O_EXCL inside the lock would collide if two ever held it at once (e.g. one locking the
    file its previous holder had just unlinked)."""
    marker = tmp_path / "marker"
    processes = [subprocess.Popen([sys.executable, "-c", CONTENDER, str(tmp_path / "out"), str(marker), "2"],
                                  cwd=REPO, text=True, stdout=subprocess.PIPE) for _ in range(4)]
    results = [tuple(map(int, p.communicate(timeout=60)[0].split())) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert sum(held for held, _ in results) > 20                    # they did take turns
    assert [overlaps for _, overlaps in results] == [0, 0, 0, 0]
