"""Batch mode on the sample against the loopback Batch API server: rounds, requests, wall time.

    .venv/bin/python bench/bench_batch.py [--repeat N]

Runs ``run --batch`` (:func:`pipeline.batch.app.execute_batch_run`) on all 129 papers of the
sample with the ``openai`` provider against ``tests/support/fake_batch_server.py`` (answering
like the fake provider, so nothing is re-asked; each batch reads ``validating`` once,
``in_progress`` once, ``finalizing`` once, then ends), polling first after 0.05 s (x1.5 each
check). Rows: a cold run, a warm re-run (nothing to submit), and a cold run whose first batch
fails 5% of its lines and whose second batch expires with 90% of its lines answered (the
failed and expired lines go in later rounds). ``rounds`` is the time of the rounds (plan,
upload, poll, download, import), ``write`` the normal run path writing the outputs from the
cache. The server runs in a child process (in this one it would share the GIL with the pipeline).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from pipeline.app import RunOptions  # noqa: E402
from pipeline.batch.app import execute_batch_run  # noqa: E402
from pipeline.batch.driver import BatchOptions  # noqa: E402
from pipeline.batch.poll import PollPolicy  # noqa: E402

SEED = REPO / "samples" / "seed-digest.md"


def _fail_every_20th_of_the_first(batch: int, index: int, line: dict) -> bool:
    return batch == 0 and index % 20 == 0


def _expire_the_second(batch: int) -> float | None:
    return 0.9 if batch == 1 else None


def _serve(faults: bool, conn) -> None:  # child process: the loopback Batch API server
    from support.fake_batch_server import FakeBatchServer
    from support.pipeline_responder import pipeline_responder

    extra = {"fail_line": _fail_every_20th_of_the_first, "expire": _expire_the_second} if faults else {}
    with FakeBatchServer(responder=pipeline_responder, **extra) as server:
        conn.send(server.base_url)
        conn.recv()


@contextmanager
def _server(faults: bool) -> Iterator[str]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(faults, child), daemon=True)
    process.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        process.join(timeout=10)


def _run(base_url: str, tmp: Path) -> tuple[float, object]:
    options = RunOptions(config=REPO / "config.yaml", provider="openai", base_url=base_url,
                         out_dir=tmp / "out", cache_dir=tmp / "cache")
    started = time.perf_counter()
    result = execute_batch_run([SEED], options, BatchOptions(poll=PollPolicy(first=0.05)))
    return time.perf_counter() - started, result


def _row(label: str, seconds: float, result) -> tuple[str, str, str]:
    report, run = result.report, result.runs[0].summary
    size = (f"{run.papers} papers, {report.rounds} rounds, {len(report.submitted)} batches, "
            f"{report.requests} requests ({report.requests / run.papers:.2f}/paper), "
            f"{report.failed_lines} failed lines")
    timing = (f"{seconds:.2f} s wall (rounds {report.wall_seconds:.2f} s, write {run.wall_seconds:.2f} s); "
              f"{run.model_calls} answers used, statuses {dict(run.status_counts)}")
    return label, size, timing


def bench(repeat: int) -> list[tuple[str, str, str]]:
    rows = []
    for faults in (False, True):
        best = None
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp, _server(faults) as base_url:
                cold = _run(base_url, Path(tmp))
                warm = _run(base_url, Path(tmp)) if not faults else None
            best = min(best or (cold, warm), (cold, warm), key=lambda pair: pair[0][0])
        label = "batch, 5% failed lines + an expired batch" if faults else "batch, cold"
        rows.append(_row(label, *best[0]))
        if best[1] is not None:
            rows.append(_row("batch, warm re-run", *best[1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per row")
    rows = bench(parser.parse_args().repeat)
    widths = [max(len(r[i]) for r in rows + [("benchmark", "size", "result")]) for i in range(3)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(line.format("benchmark", "size", "result"))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


if __name__ == "__main__":
    main()
