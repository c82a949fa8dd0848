"""Human-readable output of the CLI: progress while running, a summary table at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from pipeline.events import Event
from pipeline.models import Digest


@contextmanager
def progress_listener(console: Console, *, disable: bool = False) -> Iterator[Callable[[Event], None]]:
    """Yield an event listener that drives a progress bar (a line every 10% when not a terminal)."""
    state = {"total": 0, "done": 0, "next_line": 0.0, "start": time.perf_counter()}
    live = console.is_terminal and not disable
    progress = Progress(TextColumn("[bold]papers"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True, disable=not live)
    task = progress.add_task("", total=None)
    lock = threading.Lock()

    def listener(event: Event) -> None:
        with lock:
            _on_event(event)

    def _on_event(event: Event) -> None:
        if event.kind == "run_started":
            state["total"] = int(event.detail or 0)
            progress.update(task, total=state["total"])
        elif event.kind == "paper_done":
            state["done"] += 1
            progress.update(task, advance=1, description=f"{event.paper_id} {event.detail}")
            if not live and not disable and state["total"] and state["done"] / state["total"] >= state["next_line"]:
                console.print(f"{state['done']}/{state['total']} papers "
                              f"({time.perf_counter() - state['start']:.0f}s)", highlight=False)
                state["next_line"] += 0.1

    with progress:
        yield listener


def print_run_summary(console: Console, result) -> None:
    """The end-of-run table: papers by status, model calls, cache hits, tokens, wall time."""
    s = result.summary
    table = Table(title=f"digest-pipeline run {s.run_id}", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("papers", f"{s.papers} (of {s.papers_in_digest} in the digest)")
    for status in ("ok", "repaired", "failed"):
        table.add_row(f"  {status}", str(s.status_counts.get(status, 0)))
    table.add_row("model calls", str(s.model_calls))
    table.add_row("cache hits", str(s.cache_hits))
    table.add_row("retries", str(s.retries))
    table.add_row("tokens (prompt / completion)", f"{s.prompt_tokens} / {s.completion_tokens}")
    table.add_row("wall time", f"{s.wall_seconds:.1f} s")
    for check, n in s.failures_per_check.items():
        table.add_row(f"failed check: {check}", str(n))
    if s.parse_warnings:
        table.add_row("parse warnings", str(s.parse_warnings))
    table.add_row("output", str(result.out_dir))
    console.print(table)


def print_parse_report(console: Console, digest: Digest) -> None:
    """Paper counts by category, then every parse warning with its line number."""
    counts: dict[str, int] = {}
    for paper in digest.papers:
        key = paper.section or paper.category or "(none)"
        counts[key] = counts.get(key, 0) + 1
    table = Table(title=f"{digest.path}: {len(digest.papers)} papers ({digest.kind})", title_justify="left")
    table.add_column("category")
    table.add_column("papers", justify="right")
    for category, n in counts.items():
        table.add_row(category, str(n))
    console.print(table)
    for w in digest.warnings:
        where = f"line {w.line}" if w.line else "file"
        paper = f" [{w.paper_id}]" if w.paper_id else ""
        console.print(f"warning: {where}{paper}: {w.message}", markup=False, highlight=False)
