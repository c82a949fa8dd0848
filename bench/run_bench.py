"""Benchmarks of the pipeline, printed as a table.

    .venv/bin/python bench/run_bench.py                 # parse + fake-provider cold/warm runs
    .venv/bin/python bench/run_bench.py --local 5       # plus the embedded models on 5 papers

Figures: parse time of the sample and the largest real digest; pipeline overhead per paper with a
zero-latency fake provider (cold, i.e. every call executed, and warm, all cache hits); and with
``--local N`` the embedded models' wall time per paper and generation tokens/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.app import RunOptions, execute_run  # noqa: E402
from pipeline.parse import parse_digest  # noqa: E402

SEED = REPO / "samples" / "seed-digest.md"
REAL = REPO.parent / "shared" / "data" / "real"


def _time(fn, repeat: int = 1) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def bench_parse(rows: list[tuple[str, str, str]]) -> None:
    seconds, digest = _time(lambda: parse_digest(SEED), repeat=5)
    rows.append(("parse sample digest", f"{len(digest.papers)} papers", f"{seconds * 1000:.1f} ms"))
    if REAL.is_dir():
        largest = max(REAL.glob("*.md"), key=lambda p: p.stat().st_size)
        seconds, digest = _time(lambda: parse_digest(largest), repeat=5)
        rows.append((f"parse {largest.name[:40]} ({largest.stat().st_size / 1e6:.1f} MB)",
                     f"{len(digest.papers)} papers", f"{seconds * 1000:.1f} ms"))


def bench_fake(rows: list[tuple[str, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(config=REPO / "config.yaml", provider="fake", out_dir=Path(tmp) / "out",
                             cache_dir=Path(tmp) / "cache")
        for label in ("cold", "warm"):
            seconds, result = _time(lambda: execute_run(SEED, options))
            s = result.summary
            rows.append((f"fake provider, {label} run", f"{s.papers} papers, {s.model_calls} calls, {s.cache_hits} hits",
                         f"{seconds:.2f} s total, {seconds / s.papers * 1000:.1f} ms/paper"))


def bench_local(rows: list[tuple[str, str, str]], n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(config=REPO / "config.yaml", provider="local", out_dir=Path(tmp) / "out",
                             cache_dir=Path(tmp) / "cache", limit=n)
        seconds, result = _time(lambda: execute_run(SEED, options))
        s = result.summary
        rows.append((f"local models, cold, {n} papers", f"{s.model_calls} calls, {s.completion_tokens} gen tokens",
                     f"{seconds:.1f} s, {seconds / max(1, s.papers):.1f} s/paper, "
                     f"{s.completion_tokens / seconds:.1f} gen tok/s overall"))
        rows.append(("local models, statuses", str(s.status_counts), str(s.failures_per_check)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", type=int, default=0, help="also run the embedded models on N papers")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    bench_parse(rows)
    bench_fake(rows)
    if args.local:
        bench_local(rows, args.local)
    widths = [max(len(r[i]) for r in rows + [("benchmark", "size", "result")]) for i in range(3)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(line.format("benchmark", "size", "result"))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


if __name__ == "__main__":
    main()
