"""The checks' word tables load in the background when a session opens (pipeline.validate.preload)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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


def test_opening_a_session_starts_the_loading(tmp_path):
    out = _child(f"""
        from pathlib import Path
        from pipeline.app import RunOptions, load_run_config
        from pipeline.session import open_session
        from pipeline.validate import preload, vocab
        loaded = load_run_config(RunOptions(config=Path("config.yaml"), provider="fake",
                                            cache_dir=Path({str(tmp_path / "cache")!r})))
        assert preload._thread is None
        with open_session(loaded) as session:
            preload._thread.join(60)
            print(vocab._tables_loaded, session.provider().name)
    """)
    assert out == "True fake"
