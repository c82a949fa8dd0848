"""What a multi-day run shows: one progress display for every day, and the backfill summary table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from pipeline.cost import format_cost
from pipeline.events import Event

LINE_EVERY = 0.1
"""Away from a terminal, a progress line at every tenth of the expected papers."""


@contextmanager
def backfill_progress(console: Console, *, disable: bool = False) -> Iterator[Callable[[Event], None]]:
    """Yield a listener that shows days, papers (of the expected total), calls, cache hits,
    reused papers and the time left, over the whole backfill."""
    counts = {"days": "", "papers": 0, "calls": 0, "hits": 0, "reused": 0, "total": 0, "next": 0.0}
    started, lock = time.perf_counter(), threading.Lock()
    live = console.is_terminal and not disable
    progress = Progress(TextColumn("[bold]{task.fields[days]}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[activity]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                        console=console, transient=True, disable=not live)
    task = progress.add_task("", total=None, days="", activity="")

    def listener(event: Event) -> None:
        with lock:
            if not _count(counts, event):
                return
            activity = f"{counts['calls']} calls, {counts['hits']} cache hits, {counts['reused']} reused"
            progress.update(task, completed=counts["papers"], total=counts["total"] or None,
                            days=f"day {counts['days']}", activity=activity)
            if not live and not disable and counts["total"] and counts["papers"] / counts["total"] >= counts["next"]:
                console.print(f"day {counts['days']}: {counts['papers']}/{counts['total']} papers, {activity} "
                              f"({time.perf_counter() - started:.0f}s)", highlight=False, markup=False)
                counts["next"] += LINE_EVERY

    with progress:
        yield listener


def _count(counts: dict, event: Event) -> bool:
    """Update ``counts`` from one event; True when the display should change."""
    key = {"paper_done": "papers", "executed": "calls", "cache_hit": "hits", "reused": "reused"}.get(event.kind)
    if key is not None:
        counts[key] += 1
    elif event.kind == "run_started" and event.stage == "backfill":  # again when a day corrects it
        counts["total"] = int(event.detail or 0)
        return bool(counts["days"])  # the first is shown with the first day
    elif event.kind == "day_started":
        counts["days"] = event.detail
    else:
        return False
    return True


def print_backfill(console: Console, result) -> None:
    """The backfill summary: one row a day and the total (papers, distinct, reused, calls, tokens,
    cost, statuses), then the files left out and the days that could not be read."""
    table = Table(title="backfill", show_lines=False)
    for column in ("day", "outcome", "papers", "distinct", "reused", "calls", "tokens", "cost", "ok/rep/fail/skip"):
        table.add_column(column, justify="left" if column in ("day", "outcome") else "right")
    for day in result.days:
        table.add_row(day.day or day.digest, day.outcome, str(day.papers), str(day.distinct_papers), str(day.reused),
                      str(day.model_calls), f"{day.prompt_tokens + day.completion_tokens}", format_cost(day.cost),
                      _statuses(day.status_counts))
    t = result.totals
    table.add_row("total", f"{t['days']} days", str(t["papers"]), str(t["distinct_papers"]), str(t["reused"]),
                  str(t["model_calls"]), str(t["prompt_tokens"] + t["completion_tokens"]), format_cost(t["cost"]),
                  _statuses(t["status_counts"]), style="bold")
    console.print(table)
    for line in result.skipped_files:
        console.print(f"left out: {line}", markup=False, highlight=False, soft_wrap=True)
    for day in result.days:
        if day.error:
            console.print(f"error: {day.error}", markup=False, highlight=False, soft_wrap=True)
        if day.parse_warnings or day.records_skipped:
            first = f"; first: {day.first_warning}" if day.first_warning else ""
            console.print(f"{day.day or day.digest}: {day.parse_warnings} parse warning(s), {day.records_skipped} "
                          f"record(s) could not be read as a paper (all in {day.out_dir}/run.json){first}",
                          markup=False, highlight=False, soft_wrap=True)
    if result.stopped:
        console.print(f"stopped: {result.stopped}; run again to resume (finished papers are written and cached)",
                      markup=False, highlight=False, soft_wrap=True)


def _statuses(counts: dict[str, int]) -> str:
    return "/".join(str(counts.get(s, 0)) for s in ("ok", "repaired", "failed", "skipped"))
