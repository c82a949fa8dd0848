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

MAX_WARNINGS_SHOWN = 20


@contextmanager
def progress_listener(console: Console, *, disable: bool = False) -> Iterator[Callable[[Event], None]]:
    """Yield an event listener that drives a progress bar (a line every 10% when not a terminal),
    started again by each digest's ``run_started``."""
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
        if event.kind == "run_started":  # each digest's (the write phase of a batch run has several)
            state.update(total=int(event.detail or 0), done=0, next_line=0.0)
            progress.reset(task, total=state["total"])
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
    """The end-of-run report: warnings and problems, then a table of papers by status, model
    calls, cache hits, tokens, cost, wall time and failed checks."""
    s = result.summary
    _print_problems(console, result)
    console.print(f"digest-pipeline run {s.run_id}", markup=False)
    console.print(_summary_table(s, result.out_dir))


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _print_problems(console: Console, result) -> None:
    """Parse warnings (the first few), papers the provider failed or that were never started,
    records that could not be read, an empty day."""
    s = result.summary
    for warning in s.warnings[:MAX_WARNINGS_SHOWN]:
        _say(console, f"warning: {warning}")
    if len(s.warnings) > MAX_WARNINGS_SHOWN:
        console.print(f"... and {len(s.warnings) - MAX_WARNINGS_SHOWN} more warnings in run.json")
    provider_errors = [i.message for d in result.documents if d.validation.status == "failed"
                       for i in d.validation.issues if i.check == "provider"]
    if provider_errors:
        _say(console, f"error: {len(provider_errors)} paper(s) failed because the provider did not answer, "
                      f"e.g.: {provider_errors[0]}")
    stopped = [d for d in result.documents if d.validation.skip_reason == "provider"]
    if stopped:
        _say(console, f"error: {len(stopped)} paper(s) not started: {stopped[0].validation.issues[0].message}")
    if s.records_skipped:
        _say(console, f"error: {s.digest}: {s.records_skipped} record(s) could not be read as a paper and are "
                      "not in the outputs (see the warnings above)")
    if s.papers_in_digest == 0:
        console.print(f"{s.digest}: the digest has no papers (an empty day); wrote empty outputs")


def _summary_table(s, out_dir) -> Table:
    table = Table(show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("papers", f"{s.papers} (of {s.papers_in_digest} in the digest)")
    for status in ("ok", "repaired", "failed", *(["skipped"] if s.status_counts.get("skipped") else [])):
        table.add_row(f"  {status}", str(s.status_counts.get(status, 0)))
    for label, value in (("model calls", s.model_calls), ("cache hits", s.cache_hits), ("retries", s.retries)):
        table.add_row(label, str(value))
    table.add_row("tokens (prompt / completion)", f"{s.prompt_tokens} / {s.completion_tokens}")
    _cost_rows(table, s)
    table.add_row("wall time", f"{s.wall_seconds:.1f} s")
    _check_rows(table, s)
    if s.parse_warnings:
        table.add_row("parse warnings", str(s.parse_warnings))
    if getattr(s, "english_left_out", None):
        table.add_row("left out of the English file", ", ".join(f"{k} ({n})" for k, n in s.english_left_out.items()))
    if s.carried_over or s.not_selected:
        table.add_row("papers from earlier runs", str(s.carried_over))
        table.add_row("papers not selected, never processed", str(s.not_selected))
    if s.carried_over:
        table.add_row("note", f"statuses, tokens and cost cover all {s.papers} papers; calls, hits and retries "
                              "this run only")
    table.add_row("output", str(out_dir))
    return table


def _check_rows(table: Table, s) -> None:
    """Error issues per check, on the first answers and after re-asks."""
    first = getattr(s, "failures_per_check_first_attempt", {}) or {}
    checks = sorted(set(first) | set(s.failures_per_check))
    if checks:
        table.add_row("failed checks", "first -> final")
    for check in checks:
        table.add_row(f"  {check}", f"{first.get(check, 0)} -> {s.failures_per_check.get(check, 0)}")


def _cost_rows(table: Table, s) -> None:
    """Cost spent and saved (``unknown`` naming the models without a price), per stage, budget."""
    from pipeline.cost import format_cost

    unknown = f" (no price for {', '.join(s.unpriced_models)})" if s.unpriced_models else ""
    table.add_row("cost", format_cost(s.cost) + (unknown if s.cost is None else ""))
    saved = s.tokens_saved_by_cache
    table.add_row("saved by the cache", f"{format_cost(s.cost_saved_by_cache)}, {saved.calls} calls, "
                                        f"{saved.prompt_tokens} / {saved.completion_tokens} tokens")
    for stage, row in s.usage_per_stage.items():
        table.add_row(f"  {stage}", f"{row.calls} calls, {row.prompt_tokens} / {row.completion_tokens} tokens, "
                                    f"{format_cost(row.cost)}")
    if s.budget.reached:
        table.add_row("budget", f"{s.budget.reached}: {s.budget.skipped} paper(s) skipped")


def print_estimate(console: Console, estimate) -> None:
    """``run --dry-run``: calls, tokens and cost per stage, estimated without calling a model."""
    from pipeline.cost import format_cost

    console.print(f"dry run: {estimate.papers} paper(s) of {estimate.digest}; no model called, nothing written",
                  markup=False, soft_wrap=True)
    table = Table()
    for column in ("stage", "model", "calls", "cached", "prompt tokens", "completion tokens (max)", "cost (max)"):
        table.add_column(column, justify="left" if column in ("stage", "model") else "right")
    for row in [*estimate.stages, estimate.total]:
        table.add_row(row.stage, row.model, str(row.calls), str(row.cached), str(row.prompt_tokens),
                      str(row.completion_tokens), format_cost(row.cost))
    console.print(table)
    for note in estimate.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)


def print_rerun(console: Console, result) -> None:
    """``rerun``: the paper's status before -> after, its calls, and where the files are."""
    from pipeline.cost import format_cost

    before = result.before.status if result.before is not None else "(not in the previous run)"
    doc = result.document
    console.print(f"rerun {doc.arxiv_id} from {result.from_stage}: {before} -> {doc.validation.status}; "
                  f"{result.model_calls} model call(s), {result.cache_hits} cache hit(s), "
                  f"cost {format_cost(doc.provenance.cost)}", markup=False, soft_wrap=True)
    for issue in doc.validation.issues:
        if issue.severity == "error":
            console.print(f"  {issue.field}: {issue.check}: {issue.message}", markup=False, soft_wrap=True)
    console.print(f"updated {result.paper_path}, digest.json, digest.en.md, run.json in {result.out_dir}",
                  markup=False, soft_wrap=True)


def print_parse_report(console: Console, digest: Digest) -> None:
    """Paper counts by category, then every parse warning with its line number."""
    counts: dict[str, int] = {}
    for paper in digest.papers:
        key = paper.section or paper.category or "(none)"
        counts[key] = counts.get(key, 0) + 1
    console.print(f"{digest.path}: {len(digest.papers)} papers ({digest.kind})", markup=False, soft_wrap=True)
    table = Table()
    table.add_column("category")
    table.add_column("papers", justify="right")
    for category, n in counts.items():
        table.add_row(category, str(n))
    console.print(table)
    print_parse_warnings(console, digest)


def print_parse_warnings(console: Console, digest: Digest) -> None:
    """Every parse warning of ``digest``, one line each with its line number (``parse --json``
    prints them on stderr, the papers on stdout)."""
    for w in digest.warnings:
        where = f"line {w.line}" if w.line else "file"
        paper = f" [{w.paper_id}]" if w.paper_id else ""
        console.print(f"warning: {where}{paper}: {w.message}", markup=False, highlight=False, soft_wrap=True)


def print_validate_report(console: Console, report) -> None:
    """``validate``: issues per check (errors and warnings) and papers per status, before -> after."""
    console.print(f"validated {len(report.papers)} paper(s) under {report.path}", markup=False, soft_wrap=True)
    table = Table(title="issues per check", title_justify="left")
    table.add_column("check")
    table.add_column("errors (before -> after)", justify="right")
    table.add_column("warnings (before -> after)", justify="right")
    counts = {(when, sev): report.per_check(when, sev) for when in ("before", "after") for sev in ("error", "warning")}
    for check in report.checks:
        table.add_row(check, *(f"{counts['before', sev].get(check, 0)} -> {counts['after', sev].get(check, 0)}"
                               for sev in ("error", "warning")))
    console.print(table)
    status = Table(title="papers per status", title_justify="left")
    status.add_column("status")
    status.add_column("before", justify="right")
    status.add_column("after", justify="right")
    before, after = report.status_counts("before"), report.status_counts("after")
    for name in ("ok", "repaired", "failed"):
        status.add_row(name, str(before.get(name, 0)), str(after.get(name, 0)))
    console.print(status)
    for paper in report.changed:
        errors = sorted({i.check for i in paper.after.issues if i.severity == "error"})
        why = f" ({', '.join(errors)})" if errors else ""
        console.print(f"changed: {paper.arxiv_id} {paper.before.status} -> {paper.after.status}{why}",
                      markup=False, highlight=False, soft_wrap=True)
    for path in report.missing:
        console.print(f"error: {path}: missing, though digest.json lists the paper as processed "
                      "(its entry was checked instead); run the day again to rewrite it",
                      markup=False, highlight=False, soft_wrap=True)
    if report.dry_run:
        console.print("dry run: nothing rewritten", markup=False)
    else:
        console.print(f"rewrote {len(report.rewritten)} file(s)", markup=False)
