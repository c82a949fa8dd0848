"""The checks' word tables load in the background when a session opens (pipeline.validate.preload)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from support.days import write_days

REPO = Path(__file__).resolve().parents[1]


def _child(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_start_loading_loads_every_table_once_in_a_fresh_process():
    out = _child("""
        import threading
        from pipeline.validate import bilingual, vocab
        from pipeline.validate.preload import start_loading
        assert not vocab._tables_loaded and not bilingual._LOADED
        thread = start_loading()
        assert thread is not None and thread.daemon and start_loading() is None
        thread.join(60)
        print(vocab._tables_loaded, len(bilingual._LOADED) > 100_000)
    """)
    assert out == "True True"


def test_a_run_starts_the_loading(tmp_path):
    out = _child(f"""
        from pathlib import Path
        from pipeline.app import RunOptions, execute_run
        from pipeline.validate import preload, vocab
        options = RunOptions(config=Path("config.yaml"), provider="fake", limit=1,
                             out_dir=Path({str(tmp_path / "out")!r}), cache_dir=Path({str(tmp_path / "cache")!r}))
        assert preload._thread is None
        result = execute_run(Path("samples/seed-digest.md"), options)
        print(preload._thread is not None and vocab._tables_loaded, result.summary.papers)
    """)
    assert out == "True 1"


def test_a_warm_backfill_whose_days_are_all_unchanged_loads_no_table(tmp_path):
    files = write_days(tmp_path / "data", {"2026-06-16": (0, 2), "2026-06-17": (1, 3)})
    code = f"""
        from pathlib import Path
        from pipeline.app import RunOptions
        from pipeline.backfill import execute_backfill
        from pipeline.validate import preload, vocab
        options = RunOptions(config=Path("config.yaml"), provider="fake",
                             out_dir=Path({str(tmp_path / "out")!r}), cache_dir=Path({str(tmp_path / "cache")!r}))
        result = execute_backfill({[str(f) for f in files]!r}, options)
        print([d.outcome for d in result.days], preload._thread is not None, vocab._tables_loaded)
    """
    assert _child(code) == "['done', 'done'] True True"
    assert _child(code) == "['unchanged', 'unchanged'] False False"
