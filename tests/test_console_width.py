"""Tables written to a pipe or a file are not cut at rich's default 80 columns."""

from __future__ import annotations

import os
import subprocess
import sys

from pipeline.cli_common import PIPED_WIDTH


def _widths(env_extra: dict[str, str]) -> list[int]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | env_extra
    code = "from pipeline.cli_common import out, err; print(out.width, err.width)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return [int(w) for w in done.stdout.split()]


def test_piped_output_is_wide_enough_for_the_summary_tables() -> None:
    assert _widths({}) == [PIPED_WIDTH, PIPED_WIDTH]


def test_columns_set_by_the_user_wins() -> None:
    assert _widths({"COLUMNS": "100"}) == [100, 100]
