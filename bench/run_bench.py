"""Benchmarks of the pipeline, printed as a table.

    .venv/bin/python bench/run_bench.py                 # parse + fake-provider cold/warm runs
    .venv/bin/python bench/run_bench.py --local 5       # plus the embedded models on 5 papers, both layouts

Figures: parse time of the sample and the largest real digest; rendering the publication files
(English data file, feed.xml, report.html) of the sample; pipeline overhead per paper with a
zero-latency fake provider (cold, i.e. every call executed, and warm, all cache hits; the
``overhead:`` rows measure run_digest alone, best of ``--repeat``, warm also in a fresh process); and with
``--local N`` the embedded models' wall time per paper and generation tokens/s, once with one
instance of each model on 2 threads and once with 2 instances of 1 thread each
(``providers.local.settings.instances``).

The ``openai provider`` rows run the ``openai`` provider against the loopback test server
(``tests/support/fake_openai_server.py``, 200 ms per reply) at concurrency 16, once answering like
the fake provider (passing replies: nothing is re-asked) and once with replies that fail every
check (every field re-asked once): calls per paper, wall time against the ideal (model calls x
latency / concurrency) and the statuses (``--no-openai`` skips them). These run after the
fake-provider rows on the same sample, in the same process: word tables loaded, the checks' memo
caches warm. The ``first run of a process`` rows are what a ``digest-pipeline run`` sees: a fresh
process (tables loaded and every check computed during the run), at 200 ms and at 1 s per reply.
The server runs in a child process: in this one it would share the GIL with the pipeline.
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
sys.path.insert(0, str(REPO / "tests"))  # support.fake_openai_server, support.pipeline_responder

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
    bench_checks(rows, result.documents)
    bench_publication(rows, result)


def bench_publication(rows: list[tuple[str, str, str]], result) -> None:
    """What every run adds for publishing: the English data file, feed.xml and report.html,
    rendered (not written) from the sample's documents, best of 5."""
    from pipeline.publish.outputs import publication_files

    digest, summary = parse_digest(SEED), result.summary.model_dump(mode="json")
    seconds, files = _time(lambda: publication_files(digest, result.documents, summary), repeat=5)
    size = sum(len(text.encode("utf-8")) for text in files.values())
    rows.append(("publication files (English JSONL, feed, report)", f"{len(result.documents)} papers, "
                 f"{size / 1e6:.1f} MB", f"{seconds * 1000:.0f} ms, {seconds / len(result.documents) * 1000:.2f} ms/paper"))


def bench_checks(rows: list[tuple[str, str, str]], documents: list) -> None:
    """The validation checks alone on the fake run's answers, memos cleared before each pass
    (what a cold run spends on them), and language detection of every source field."""
    from pipeline import lang
    from pipeline.validate import numbers, suites

    translations = [(name, text, doc.source[name].text) for doc in documents
                    for name, text in doc.translation.model_dump().items() if text]
    summaries = [(doc.summary.tldr, doc.abstract, doc.translation.model_dump()) for doc in documents]
    abstracts = {doc.source[name].text: (doc.abstract, doc.title) for doc in documents for name in doc.source}

    def clear() -> None:
        for memo in (suites._memo_translation, suites._memo_summary, numbers._extract, lang._detect):
            memo.cache_clear()

    def check_all() -> None:
        clear()
        for name, text, source in translations:
            abstract, title = abstracts.get(source, ("", ""))
            suites.check_translation(name, text, source, abstract=abstract, title=title)
        for text, abstract, translation in summaries:
            suites.check_summary(text, abstract, translation)

    seconds, _ = _time(check_all, repeat=5)
    rows.append(("validation checks, cold (no memo)", f"{len(translations)} fields + {len(summaries)} summaries",
                 f"{seconds * 1000:.0f} ms, {seconds * 1000 / len(documents):.2f} ms/paper"))
    sources = [text for _, _, text in translations if text]

    def detect_all() -> None:
        clear()
        for text in sources:
            lang.detect_language(text)

    seconds, _ = _time(detect_all, repeat=5)
    rows.append(("detect_language, cold (no memo)", f"{len(sources)} source fields",
                 f"{seconds * 1e6 / len(sources):.0f} µs/field"))


_OVERHEAD_RUNS = """
import json, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from pipeline.app import RunOptions, execute_run
options = RunOptions(config=Path({config!r}), provider="fake", out_dir=Path({out!r}), cache_dir=Path({cache!r}),
                     concurrency=1)
for _ in range({runs}):
    r = execute_run(Path({seed!r}), options)
    in_calls = sum(e.seconds or 0.0 for e in r.events.events if e.kind == "executed")
    print(json.dumps([r.summary.wall_seconds, in_calls, r.summary.model_calls, r.summary.papers]))
"""


def _overhead_runs(out: Path, cache: Path, runs: int) -> list[tuple[float, float, int, int]]:
    """``runs`` zero-latency fake runs, concurrency 1, in one fresh interpreter: per run (pipeline
    seconds = run_digest's wall time, the part spent inside model calls, calls executed, papers)."""
    import json
    import subprocess

    code = _OVERHEAD_RUNS.format(repo=str(REPO), seed=str(SEED), config=str(REPO / "config.yaml"), out=str(out),
                                 cache=str(cache), runs=runs)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [tuple(json.loads(line)) for line in done.stdout.strip().splitlines()[-runs:]]


def bench_overhead(rows: list[tuple[str, str, str]], repeat: int) -> None:
    """Pipeline overhead with a zero-latency fake provider (issue 5 targets: cold < 2 ms/paper,
    warm re-run of the sample < 1 s). Pipeline time is ``run_digest``'s wall time (``run.json``
    wall_seconds: no interpreter start, imports, config load or parse); best of ``repeat``, each
    in a fresh interpreter. Cold = empty cache, every call executed by the fake (the time inside
    its calls, reply building included, is shown apart); warm = every call a cache hit, right
    after the cold run in the same process (validation answers memoized) and in a fresh process
    (nothing memoized: a second ``digest-pipeline run``)."""
    cold, warm, fresh = [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            out, cache = Path(tmp) / "out", Path(tmp) / "cache"
            first, second = _overhead_runs(out, cache, 2)
            cold.append(first)
            warm.append(second)
            fresh.append(_overhead_runs(out, cache, 1)[0])
    for label, runs in (("cold", cold), ("warm, same process", warm), ("warm, fresh process", fresh)):
        seconds, in_calls, calls, papers = min(runs)
        outside = f", {(seconds - in_calls) * 1000 / papers:.2f} ms/paper outside model calls" if calls else ""
        rows.append((f"overhead: fake {label}", f"{papers} papers, {calls} calls",
                     f"{seconds:.3f} s, {seconds * 1000 / papers:.2f} ms/paper{outside}"))


def _serve(latency: float, conn, failing: bool = False) -> None:  # child process: the loopback server
    from support.fake_openai_server import FakeOpenAIServer
    from support.pipeline_responder import failing_responder, pipeline_responder

    responder = failing_responder if failing else pipeline_responder
    with FakeOpenAIServer(responder=responder, latency=latency, models=None) as server:
        conn.send(server.base_url)
        conn.recv()  # until the parent says stop


@contextmanager
def _test_server(latency: float, failing: bool = False) -> Iterator[str]:
    """The test server in a child process; yields its base URL."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(latency, child, failing), daemon=True)
    process.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        process.join(timeout=10)


def _fresh_openai(latency: float, conn) -> None:  # child process: a first run, as the CLI makes it
    rows: list[tuple[str, str, str]] = []
    bench_openai(rows, latency, label="first run of a process, ")
    conn.send(rows[:1])


def bench_openai_fresh(rows: list[tuple[str, str, str]], latency: float = 0.2) -> None:
    """:func:`bench_openai` (passing replies) as the first run of a fresh process, as every
    ``digest-pipeline run`` is: word tables loaded and the checks' memo caches empty."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_fresh_openai, args=(latency, child))  # not daemonic: it starts the server
    process.start()
    while not parent.poll(1.0):
        if not process.is_alive():
            raise SystemExit(f"the fresh-process openai benchmark failed (exit {process.exitcode}); see above")
    rows.extend(parent.recv())
    process.join(timeout=30)


def bench_openai(rows: list[tuple[str, str, str]], latency: float = 0.2, concurrency: int = 16,
                 failing: bool = False, label: str = "") -> None:
    """The openai provider on the whole sample against the test server (module docstring);
    ``failing``: replies that fail every check (every field re-asked once, every paper failed).
    In :func:`main` this runs after the fake-provider rows on the same sample, so the checks'
    memo caches are warm (:func:`bench_openai_fresh` is the cold case)."""
    with tempfile.TemporaryDirectory() as tmp, _test_server(latency, failing) as base_url:
        options = RunOptions(config=REPO / "config.yaml", provider="openai", base_url=base_url,
                             model="fake-model", concurrency=concurrency, out_dir=Path(tmp) / "out",
                             no_cache=True)
        seconds, result = _time(lambda: execute_run(SEED, options))
        s = result.summary
        ideal = s.model_calls * latency / concurrency
        label += "failing replies" if failing else "passing replies"
        rows.append((f"openai provider, {label}, {latency * 1000:.0f} ms, concurrency {concurrency}",
                     f"{s.papers} papers, {s.model_calls} calls = {s.model_calls / s.papers:.2f}/paper",
                     f"wall_seconds {s.wall_seconds:.2f} s = {s.wall_seconds / ideal:.3f}x ideal {ideal:.2f} s "
                     f"(calls x latency / concurrency); {seconds:.2f} s with config, parse and session"))
        rows.append((f"openai provider, {label}, statuses", str(s.status_counts),
                     ", ".join(f"{k} {v}" for k, v in list(s.failures_per_check.items())[:4])))


LOCAL_LAYOUTS = (("1 instance x 2 threads", ["providers.local.settings.instances=1",
                                                "providers.local.settings.n_threads=2"]),
                 ("2 instances x 1 thread", ["providers.local.settings.instances=2",
                                                "providers.local.settings.n_threads=1"]))
"""The two ways of spending 2 cores on the embedded models that ``--local`` compares."""


def bench_local(rows: list[tuple[str, str, str]], n: int, overrides: list[str], label: str) -> None:
    """The embedded models on the first ``n`` papers, cold (a fresh cache), with ``overrides``."""
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(config=REPO / "config.yaml", provider="local", out_dir=Path(tmp) / "out",
                             cache_dir=Path(tmp) / "cache", limit=n, overrides=overrides)
        seconds, result = _time(lambda: execute_run(SEED, options))
        s = result.summary
        rows.append((f"local models, {label}, cold, {n} papers",
                     f"{s.model_calls} calls, {s.completion_tokens} gen tokens",
                     f"{seconds:.1f} s, {seconds / max(1, s.papers):.1f} s/paper, "
                     f"{s.completion_tokens / seconds:.1f} gen tok/s overall"))
        rows.append((f"local models, {label}, statuses", str(s.status_counts),
                     ", ".join(f"{k} {v}" for k, v in list(s.failures_per_check.items())[:5])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", type=int, default=0, help="also run the embedded models on N papers")
    parser.add_argument("--no-openai", action="store_true", help="skip the openai-provider rows (~40 s)")
    parser.add_argument("--local-only", action="store_true", help="with --local: only the embedded-model rows")
    parser.add_argument("--repeat", type=int, default=3, help="overhead rows: best of N runs")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    if not (args.local and args.local_only):
        bench_parse(rows)
        bench_fake(rows)
        bench_overhead(rows, args.repeat)
    if not args.no_openai and not (args.local and args.local_only):
        bench_openai(rows)
        bench_openai(rows, failing=True)
        bench_openai_fresh(rows)
        bench_openai_fresh(rows, latency=1.0)
    for label, overrides in LOCAL_LAYOUTS if args.local else ():
        bench_local(rows, args.local, overrides, label)
    widths = [max(len(r[i]) for r in rows + [("benchmark", "size", "result")]) for i in range(3)]
    line = "  ".join("{:<%d}" % w for w in widths)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2-core machine)")
    print(line.format("benchmark", "size", "result"))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


if __name__ == "__main__":
    main()
