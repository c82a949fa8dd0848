"""``run DIGEST...`` over several days: an archive backfilled in one run.

The digests (:func:`pipeline.days.select_days`: files, folders, globs) run in date order, each into
its own output folder exactly as a single-day run writes it (:func:`pipeline.runner.run_digest`),
inside one session (one provider, one cache) and with one reuse index (:mod:`pipeline.reuse`), so
a paper that an earlier day finished is not translated again. Memory does not grow with the
number of days: each day's documents are written and dropped before the next day; only a few
numbers per day are kept for the summary.

A day that cannot be read (not a digest, cut off, unreadable) is reported with its file and line
and the other days go on. A day whose file, config and prompts are unchanged since its last
complete run, with every paper file still there, is skipped (``unchanged``): a warm re-run of a
backfill costs a file hash and a file check a paper per day.
A killed or interrupted backfill resumes where it stopped: finished papers are written as they
finish and every model reply is cached. The result (:class:`BackfillResult`) is written to
``<out_root>/backfill.json``; the exit code is the worst of the days'.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from pipeline.app import RunOptions, load_run_config
from pipeline.config import LoadedConfig
from pipeline.days import DayInput, select_days
from pipeline.errors import ConfigError, InputError, PipelineError
from pipeline.events import Event, EventLog
from pipeline.output.files import write_json_atomic
from pipeline.output.lock import output_lock
from pipeline.output.writer import output_dir, paper_path
from pipeline.models import Digest
from pipeline.parse import parse_digest
from pipeline.reuse import ReuseIndex
from pipeline.runner import RunResult, run_digest, select_papers
from pipeline.session import Session, open_session
from pipeline.summary import file_sha256, prompt_ids

SUMMARY_NAME = "backfill.json"
INTERRUPTED = "interrupted (Ctrl-C)"
"""Why a backfill stopped, when Ctrl-C stopped it (exit code 130; any other reason: 2)."""
IDS_WITH_SEVERAL = "--ids selects papers of one digest; with several, use --limit N (per day)"


class DayReport(BaseModel):
    """One day of a backfill: its digest, output folder, what happened (``done``, ``unchanged``,
    ``error``), its exit code, and the counts of its run. An ``unchanged`` day's papers, reused
    papers and statuses are its last run's (what its documents hold); its calls, tokens and cost
    are 0 (this run spent nothing on it)."""

    digest: str
    day: str | None
    out_dir: str
    outcome: str
    exit_code: int
    error: str | None = None
    papers: int = 0
    distinct_papers: int = 0
    reused: int = 0
    model_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    status_counts: dict[str, int] = Field(default_factory=dict)
    parse_warnings: int = 0
    records_skipped: int = 0
    first_warning: str | None = None
    wall_seconds: float = 0.0


class BackfillResult(BaseModel):
    """A backfill: every day's report, the files left out, the totals, the exit code, and
    ``stopped``: why it stopped before its last day (Ctrl-C, a full disk...), else None; a day
    not reached then has the outcome ``not_started``."""

    started_at: str
    days: list[DayReport]
    skipped_files: list[str]
    totals: dict[str, Any]
    exit_code: int
    stopped: str | None = None


@dataclass
class _Backfill:
    """What every day of one backfill shares."""

    loaded: LoadedConfig
    options: RunOptions
    session: Session
    reuse: ReuseIndex | None
    listener: Callable[[Event], None] | None = None
    reports: list[DayReport] = field(default_factory=list)
    paper_ids: set[str] = field(default_factory=set)
    """Every paper id seen, for the total of distinct papers."""


def execute_backfill(arguments: list[str | Path], options: RunOptions,
                     listener: Callable[[Event], None] | None = None) -> BackfillResult:
    """Run every digest ``arguments`` name (module docstring); returns the :class:`BackfillResult`
    (also written to ``<out_root>/backfill.json``). Raises ConfigError / InputError before any
    call for bad options or arguments; ProviderError, CacheError, OSError, OutputLockedError
    stop the whole backfill (the days done so far stay written)."""
    if options.ids:
        raise ConfigError("--ids", [IDS_WITH_SEVERAL])
    selection = select_days(arguments)
    loaded = load_run_config(options)
    refuse_shared_output(selection.days, loaded.out_root())
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with open_session(loaded, no_cache=options.no_cache) as session:
        session.provider()
        reuse = ReuseIndex(loaded.out_root()) if options.reuse else None
        backfill = _Backfill(loaded, options, session, reuse, listener)
        expected = [expected_papers(d.path, options.limit) for d in selection.days] if listener else []
        if listener is not None:
            listener(Event("run_started", "backfill", "", detail=str(sum(expected))))
        try:
            for index, day in enumerate(selection.days):
                if listener is not None:
                    listener(Event("day_started", "run", "", detail=f"{index + 1}/{len(selection.days)} {day.path.name}"))
                backfill.reports.append(_run_day(backfill, day))
                if listener is not None:
                    _recount(listener, expected, index, backfill.reports[-1])
        except (KeyboardInterrupt, PipelineError, OSError) as exc:  # the whole backfill stops: say how far it got
            why = INTERRUPTED if isinstance(exc, KeyboardInterrupt) else str(exc)
            reports = backfill.reports + not_finished(selection.days[len(backfill.reports):], why,
                                                       loaded.out_root(), started)
            _write_result(loaded, backfill_result(started, reports, selection.skipped, len(backfill.paper_ids), why))
            raise
        finally:
            if reuse is not None:
                reuse.close()
    result = backfill_result(started, backfill.reports, selection.skipped, len(backfill.paper_ids))
    write_backfill(loaded.out_root(), result)
    return result


def refuse_shared_output(days: list[DayInput], out_root: Path) -> None:
    """Raise InputError when two digests would write the same output folder (the same file name
    in two folders): the second would overwrite the first's outputs."""
    seen: dict[Path, Path] = {}
    for day in days:
        folder = output_dir(out_root, day.path)
        if folder in seen:
            raise InputError(day.path, f"writes the same output folder {folder} as {seen[folder]}; "
                                       "run them separately with different --out folders")
        seen[folder] = day.path


def not_finished(days: list[DayInput], why: str, out_root: Path, started: str) -> list[DayReport]:
    """Reports for the day a stopped backfill was in (``stopped``: what its stopped run wrote,
    when it got that far; ``days[0]``) and those it never reached (the others, ``not_started``)."""
    return [stopped_day(day, why, out_root, started) if i == 0 else
            DayReport(digest=str(day.path), day=_iso(day), out_dir="", exit_code=0, outcome="not_started")
            for i, day in enumerate(days)]


def stopped_day(day: DayInput, why: str, out_root: Path, started: str) -> DayReport:
    """The :class:`DayReport` of the day a backfill stopped in (``why``; ``started``: ISO time the
    backfill started): the papers, calls and statuses of the ``run.json`` its run
    wrote when it stopped (one written since the backfill started), else nothing done."""
    out_dir = output_dir(out_root, day.path)
    try:
        summary = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
        fresh = datetime.fromisoformat(summary["started_at"]) >= datetime.fromisoformat(started)
    except (OSError, ValueError, KeyError, TypeError):
        fresh = False
    code = 130 if why == INTERRUPTED else 2  # what the command exits with: Ctrl-C, else an error
    if not fresh:
        return DayReport(digest=str(day.path), day=_iso(day), out_dir="", exit_code=code, outcome="stopped", error=why)
    return _report(day, out_dir, summary, "stopped", 0.0).model_copy(update={"exit_code": code, "error": why})


def _write_result(loaded: LoadedConfig, result: BackfillResult) -> None:
    """Write ``backfill.json`` of a stopped backfill if the disk allows (the original error is
    what the user sees)."""
    try:
        write_backfill(loaded.out_root(), result)
    except OSError:
        pass


def _recount(listener: Callable[[Event], None], expected: list[int], index: int, report: DayReport) -> None:
    """Send the expected total again when day ``index`` processed another number of papers than
    its quick count said (duplicate or unreadable records; an unchanged or unreadable day
    processes none), so that the progress ends at its total."""
    processed = report.papers if report.outcome == "done" else 0
    if processed != expected[index]:
        expected[index] = processed
        listener(Event("run_started", "backfill", "", detail=str(sum(expected))))


def expected_papers(path: Path, limit: int | None = None) -> int:
    """A quick count of a digest's papers for the progress display (records of a JSONL file,
    paper headings of a Markdown digest; at most ``limit``); 0 when it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    if path.suffix == ".jsonl":
        count = sum(1 for line in data.splitlines() if line.strip().startswith(b"{"))
    else:
        count = data.count(b"\n### [") + data.startswith(b"### [")
    return count if limit is None else min(count, limit)


def _run_day(backfill: _Backfill, day: DayInput) -> DayReport:
    loaded, out_root = backfill.loaded, backfill.loaded.out_root()
    try:
        digest = parse_digest(day.path)
    except InputError as exc:  # not a digest, cut off, unreadable: this day only
        return error_report(day, exc)
    backfill.paper_ids.update(p.arxiv_id for p in select_papers(digest, None, backfill.options.limit))
    out_dir = output_dir(out_root, digest.path)
    previous = unchanged_day(out_dir, digest, loaded, reuse=backfill.reuse is not None)
    if previous is not None:  # every paper file is there (unchanged_day checked)
        backfill.paper_ids.update(p.arxiv_id for p in digest.papers)
        return unchanged_report(day, out_dir, previous)
    with output_lock(out_dir, "run"):
        result = run_digest(digest, loaded, backfill.session.provider(), backfill.session.cache, out_root=out_root,
                            limit=backfill.options.limit, concurrency=loaded.config.run.concurrency,
                            events=EventLog(listener=backfill.listener), reuse=backfill.reuse)
    backfill.paper_ids.update(written_ids(digest, out_dir))
    return done_report(day, result)


def written_ids(digest: Digest, out_dir: Path) -> set[str]:
    """The ids of ``digest``'s papers that have a paper file in ``out_dir`` (what its
    ``run.json`` counts as papers: this run's and earlier runs' still there)."""
    return {p.arxiv_id for p in digest.papers if paper_path(out_dir, p.arxiv_id).is_file()}


def done_report(day: DayInput, result: RunResult) -> DayReport:
    """The :class:`DayReport` of a day that ran (outcome ``done``), from its :class:`RunResult`;
    its distinct papers are its papers (a digest's duplicate records are dropped when parsed)."""
    return _report(day, result.out_dir, result.summary_json, "done", result.summary_json.get("wall_seconds", 0.0),
                   statuses={d.validation.status for d in result.documents})


def error_report(day: DayInput, error: InputError) -> DayReport:
    """The :class:`DayReport` of a day that could not be read (outcome ``error``, exit code 2)."""
    return DayReport(digest=str(day.path), day=_iso(day), out_dir="", outcome="error", exit_code=2, error=str(error))


def write_backfill(out_root: Path, result: BackfillResult) -> None:
    """Write ``result`` to ``<out_root>/backfill.json`` (atomically). Raises OSError."""
    write_json_atomic(out_root / SUMMARY_NAME, result.model_dump(mode="json"))


def unchanged_day(out_dir: Path, digest: Digest, loaded: LoadedConfig, *, reuse: bool = True) -> dict[str, Any] | None:
    """The last run's summary (``run.json``) of a day that need not run again (:func:`_unchanged`)
    and whose every paper file is still there; None when the day must run (a deleted paper
    file: the cache makes running it cheap)."""
    previous = _unchanged(out_dir, Path(digest.path), loaded, reuse=reuse)
    if previous is not None and not all(paper_path(out_dir, p.arxiv_id).is_file() for p in digest.papers):
        return None
    return previous


def unchanged_report(day: DayInput, out_dir: Path, previous: dict[str, Any]) -> DayReport:
    """The :class:`DayReport` of an ``unchanged`` day: papers, reused papers and statuses of its
    documents as its last run (``previous``) wrote them; 0 calls, tokens and cost (this run spent
    nothing on it)."""
    idle = {k: 0 for k in ("model_calls", "cache_hits", "prompt_tokens", "completion_tokens")}
    return _report(day, out_dir, previous | idle | {"cost": 0.0}, "unchanged", 0.0)


def _unchanged(out_dir: Path, path: Path, loaded: LoadedConfig, *, reuse: bool = True) -> dict[str, Any] | None:
    """The last run's summary of a day that need not run again: complete (nothing skipped, no
    paper failed on the provider), made from the same file bytes, config and prompts, and (when
    ``reuse`` is off: ``--no-reuse``) with no paper carried from another day."""
    from pipeline.rerun import read_object  # late: rerun imports the runner

    run_json = out_dir / "run.json"
    if not run_json.is_file():
        return None
    try:
        summary = read_object(run_json)
    except InputError:
        return None
    complete = not summary.get("status_counts", {}).get("skipped") and \
        "provider" not in summary.get("failures_per_check", {}) and not summary.get("not_selected")
    same = (summary.get("input_sha256") == file_sha256(path) and summary.get("config_hash") == loaded.config.digest()
            and summary.get("prompts") == prompt_ids(loaded))
    own = reuse or not summary.get("reused")
    return summary if complete and same and own else None


def _report(day: DayInput, out_dir: Path, summary: dict[str, Any], outcome: str, wall: float,
            statuses: set[str] | None = None) -> DayReport:
    counts = summary.get("status_counts", {})
    failed = bool((statuses or set(k for k, n in counts.items() if n)) & {"failed", "skipped"})
    problems = summary.get("records_skipped") or summary.get("outputs_unreadable")
    keys = ("papers", "reused", "model_calls", "cache_hits", "prompt_tokens", "completion_tokens", "cost")
    warnings = summary.get("warnings") or []
    return DayReport(digest=str(day.path), day=_iso(day), out_dir=str(out_dir), outcome=outcome,
                     exit_code=1 if failed or problems else 0, status_counts=dict(counts),
                     parse_warnings=summary.get("parse_warnings", 0), records_skipped=summary.get("records_skipped", 0),
                     first_warning=warnings[0] if warnings else None,
                     distinct_papers=summary.get("distinct_papers", summary.get("papers", 0)),
                     wall_seconds=wall if outcome == "done" else 0.0,
                     **{k: summary.get(k) for k in keys if summary.get(k) is not None or k == "cost"})


def _iso(day: DayInput) -> str | None:
    return day.day.isoformat() if day.day else None


def backfill_result(started: str, reports: list[DayReport], skipped: list[str], distinct: int,
                    stopped: str | None = None) -> BackfillResult:
    """The :class:`BackfillResult` of ``reports`` (one a day, in order): totals over the days,
    ``distinct`` papers, the worst exit code; ``started``: ISO time the backfill started."""
    totals: dict[str, Any] = {"days": len(reports), "unchanged": sum(r.outcome == "unchanged" for r in reports),
                              "errors": sum(r.outcome == "error" for r in reports),
                              "not_finished": sum(r.outcome in ("stopped", "not_started") for r in reports)}
    for key in ("papers", "reused", "model_calls", "cache_hits", "prompt_tokens", "completion_tokens"):
        totals[key] = sum(getattr(r, key) for r in reports)
    totals["distinct_papers"] = distinct
    costs = [r.cost for r in reports if r.outcome not in ("error", "stopped", "not_started")]
    totals["cost"] = None if any(c is None for c in costs) else round(sum(costs), 9)
    statuses: dict[str, int] = {}
    for report in reports:
        for status, n in report.status_counts.items():
            statuses[status] = statuses.get(status, 0) + n
    totals["status_counts"] = statuses
    return BackfillResult(started_at=started, days=reports, skipped_files=skipped, totals=totals,
                          exit_code=max((r.exit_code for r in reports), default=0), stopped=stopped)
