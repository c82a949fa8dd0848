"""A Ctrl-C that lands while a run writes its aggregates stops the run after them, not half-way
(found by a QA pass: the folder was left with its paper files only, or a traceback)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from support.paths import CONFIG, SEED

import pipeline.output.writer as writer
from pipeline.app import RunOptions, execute_run
from pipeline.output.interrupts import interrupts_deferred

AGGREGATES = ("digest.json", "digest.en.md", "run.json", "feed.xml", "report.html")


def test_ctrl_c_during_the_aggregates_writes_them_all_then_stops(tmp_path: Path, monkeypatch) -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background suite ignores it
    original = writer.render_english

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C after digest.json, before the rest
        return original(*args, **kwargs)

    monkeypatch.setattr(writer, "render_english", interrupted)
    options = RunOptions(config=CONFIG, provider="fake", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                         limit=3)
    try:
        with pytest.raises(KeyboardInterrupt):
            execute_run(SEED, options)
    finally:
        signal.signal(signal.SIGINT, previous)
    (folder,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    assert [name for name in AGGREGATES if not (folder / name).is_file()] == []
    assert len(list((folder / "papers").glob("*.json"))) == 3


def test_outside_the_block_ctrl_c_is_not_held() -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                done = True  # the block runs to its end first
        assert done
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
