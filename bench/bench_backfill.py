"""The archive backfilled in one run, against separate runs (issue 13's ``bench/`` rows).

    .venv/bin/python bench/bench_backfill.py [--concurrency 1] [--repeat 1]

Input: the 17 whole upstream days of ``../shared/data/archive/`` (``run DIGEST...`` picks each
date's ``*_AI_enhanced_Chinese.jsonl``), with the zero-latency fake provider, so every second is
the pipeline's own (parsing, stages, checks, cache, reuse index, writing every output file).
Each row runs in a fresh interpreter (its peak RSS is that process's ``ru_maxrss``):

- ``backfill 17 days, cold``: one ``execute_backfill`` over the 17 days, empty cache and output
  root: papers, distinct papers, reused papers, calls, wall (backfill.json's per-day wall
  seconds summed: no interpreter start or imports), ms per paper -- in all, and outside model
  calls (the fake's own reply building, timed around its ``complete``, taken off) --, peak RSS;
- ``17 separate runs``: each day alone with its own fresh cache and output root (``--no-reuse``
  is implied: nothing earlier is there to reuse): the calls the backfill is compared with;
- ``backfill 5 days, cold``: the first 5 days, for the peak RSS against 17 days;
- ``backfill 17 days, warm``: the same command again on the 17-day output root: every day is
  unchanged and skipped; wall over all papers.

The machine's load average is printed with the table (timings on the shared 2-core machine swing
about 30% from minute to minute).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCHIVE = REPO.parent / "shared" / "data" / "archive"

_CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from pipeline.app import RunOptions
from pipeline.backfill import execute_backfill
from pipeline.llm.fake import FakeProvider
in_calls = [0.0]
_complete = FakeProvider.complete
def timed(self, request):  # the fake's own reply building, apart from the pipeline's overhead
    start = time.perf_counter()
    try:
        return _complete(self, request)
    finally:
        in_calls[0] += time.perf_counter() - start
FakeProvider.complete = timed
options = RunOptions(config=Path({config!r}), provider="fake", out_dir=Path({out!r}), cache_dir=Path({cache!r}),
                     concurrency={concurrency}, reuse={reuse})
start = time.perf_counter()
result = execute_backfill({days!r}, options)
wall = time.perf_counter() - start
t = result.totals
print(json.dumps({{"papers": t["papers"], "distinct": t["distinct_papers"], "reused": t["reused"],
                  "calls": t["model_calls"], "hits": t["cache_hits"], "unchanged": t["unchanged"],
                  "statuses": t.get("status_counts"), "wall": wall, "in_calls": in_calls[0],
                  "days_wall": sum(d.wall_seconds for d in result.days),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _backfill(days: list[Path], out: Path, cache: Path, concurrency: int, reuse: bool = True) -> dict:
    """One backfill in a fresh interpreter; its totals, wall seconds and peak RSS (MB)."""
    code = _CHILD.format(repo=str(REPO), config=str(REPO / "config.yaml"), out=str(out), cache=str(cache),
                         concurrency=concurrency, reuse=reuse, days=[str(d) for d in days])
    env = os.environ | {"OMP_WAIT_POLICY": "passive"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/tmp")
    if done.returncode != 0:
        raise SystemExit(f"backfill child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _days() -> list[Path]:
    """The days ``run ../shared/data/archive`` selects (:func:`pipeline.days.select_days`), in date order."""
    if not ARCHIVE.is_dir():
        raise SystemExit(f"{ARCHIVE} not found: this benchmark reads the shared archive")
    sys.path.insert(0, str(REPO))
    from pipeline.days import select_days

    return [day.path for day in select_days([ARCHIVE]).days]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=1, help="run.concurrency (default 1: overhead alone)")
    parser.add_argument("--repeat", type=int, default=1, help="cold/warm rows: best of N")
    parser.add_argument("--cold-only", action="store_true", help="only the cold 17-day backfill row")
    args = parser.parse_args()
    days = _days()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        colds, warms = [], []
        for index in range(args.repeat):
            out, cache = root / f"out{index}", root / f"cache{index}"
            colds.append(_backfill(days, out, cache, args.concurrency))
            if not args.cold_only:
                warms.append(_backfill(days, out, cache, args.concurrency))
        cold = min(colds, key=lambda r: r["days_wall"])
        if args.cold_only:
            print(f"{cold['days_wall'] * 1000 / cold['papers']:.2f} ms/paper, "
                  f"{(cold['days_wall'] - cold['in_calls']) * 1000 / cold['papers']:.2f} outside calls, "
                  f"peak RSS {cold['rss_mb']:.0f} MB, load {os.getloadavg()[0]:.2f}")
            return
        warm = min(warms, key=lambda r: r["wall"])
        separate_calls, separate_papers, separate_rss = 0, 0, 0.0
        for index, day in enumerate(days):
            r = _backfill([day], root / f"sep{index}" / "out", root / f"sep{index}" / "cache", args.concurrency,
                          reuse=False)
            separate_calls += r["calls"]
            separate_papers += r["papers"]
            separate_rss = max(separate_rss, r["rss_mb"])
        five = _backfill(days[:5], root / "five" / "out", root / "five" / "cache", args.concurrency)
    per_paper = cold["days_wall"] * 1000 / cold["papers"]
    outside = (cold["days_wall"] - cold["in_calls"]) * 1000 / cold["papers"]
    rows.append((f"backfill {len(days)} days, cold", f"{cold['papers']} papers, {cold['distinct']} distinct, "
                 f"{cold['reused']} reused, {cold['calls']} calls",
                 f"{cold['days_wall']:.1f} s in the days ({cold['wall']:.1f} s with start-up), "
                 f"{per_paper:.2f} ms/paper, {outside:.2f} ms/paper outside model calls, peak RSS {cold['rss_mb']:.0f} MB"))
    rows.append((f"{len(days)} separate runs, fresh cache each", f"{separate_papers} papers, {separate_calls} calls",
                 f"backfill/separate calls = {cold['calls'] / separate_calls:.3f}, "
                 f"largest peak RSS {separate_rss:.0f} MB"))
    rows.append(("backfill 5 days, cold", f"{five['papers']} papers, {five['calls']} calls",
                 f"peak RSS {five['rss_mb']:.0f} MB (17 days: {cold['rss_mb']:.0f} MB)"))
    rows.append((f"backfill {len(days)} days, warm", f"{warm['unchanged']} days unchanged, {warm['calls']} calls",
                 f"{warm['wall'] * 1000 / warm['papers']:.3f} ms/paper ({warm['wall']:.2f} s), "
                 f"peak RSS {warm['rss_mb']:.0f} MB"))
    rows.append(("statuses (cold)", str(cold["statuses"]), ""))
    load = os.getloadavg()
    widths = [max(len(r[i]) for r in rows + [("benchmark", "size", "result")]) for i in range(3)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, concurrency {args.concurrency}")
    print(line.format("benchmark", "size", "result"))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


if __name__ == "__main__":
    main()
