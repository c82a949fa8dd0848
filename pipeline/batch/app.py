"""Application services of batch mode, behind the CLI: ``run --batch``, ``batch export``, ``batch import``.

As with :mod:`pipeline.app`, the config, the provider's capability and every digest are checked
before anything is sent or written. ``run --batch`` holds the output root's lock (the state file
lives there) and every digest's output-folder lock from before the first batch to the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.app import RunOptions, load_run_config
from pipeline.backfill import (
    IDS_WITH_SEVERAL,
    INTERRUPTED,
    BackfillResult,
    DayReport,
    backfill_result,
    done_report,
    error_report,
    not_finished,
    refuse_shared_output,
    unchanged_day,
    unchanged_report,
    write_backfill,
    written_ids,
)
from pipeline.batch.client import BatchClient
from pipeline.batch.driver import BatchDriver, BatchOptions
from pipeline.batch.finish import BatchOnlyProvider, output_locks, write_outputs
from pipeline.batch.lines import InputFile, split_lines
from pipeline.batch.report import BatchReport, OnBatchEvent
from pipeline.batch.results import LineFailure, mark_exported, read_results, store_answers, was_exported
from pipeline.batch.state import StateFile
from pipeline.config import LoadedConfig
from pipeline.days import DayInput
from pipeline.errors import ConfigError, InputError, PipelineError
from pipeline.events import Event, EventLog
from pipeline.llm import provider_spec
from pipeline.llm.base import Provider
from pipeline.models import Digest, Paper
from pipeline.output.files import write_text_atomic
from pipeline.output.writer import output_dir
from pipeline.parse import parse_digest
from pipeline.plan import Planner, plan_papers
from pipeline.publish.names import day_of
from pipeline.reuse import ReuseIndex, reuse_key
from pipeline.runner import RunResult, run_context, select_papers
from pipeline.session import Session, open_session


@dataclass
class BatchRunResult:
    """What ``run --batch`` returns: the rounds' ``report``, each readable digest's ``runs`` and,
    for several digests, the ``backfill`` summary (also written to ``<out_root>/backfill.json``:
    one row a day, unreadable days included, as :mod:`pipeline.backfill` writes it)."""

    report: BatchReport
    runs: list[RunResult]
    backfill: BackfillResult | None = None


def require_batch(loaded: LoadedConfig, option: str) -> None:
    """ConfigError (one line, exit 2) unless the configured provider may have a Batch API."""
    name = loaded.config.provider
    if not provider_spec(name).capabilities.batch:
        raise ConfigError(option, [f"the {name} provider has no batch engine; batch mode needs an OpenAI-compatible "
                                   "server (--provider openai)"])


def _checked(digest_paths: list[Path], options: RunOptions, option: str) -> tuple[LoadedConfig, list[Digest]]:
    loaded = load_run_config(options)
    require_batch(loaded, option)
    return loaded, [parse_digest(path) for path in digest_paths]


def selected_papers(digests: list[Digest], options: RunOptions) -> list[Paper]:
    """The papers ``--ids`` / ``--limit`` select, digest by digest, in order."""
    return [paper for digest in digests for paper in select_papers(digest, options.ids, options.limit)]


def papers_to_send(digests: list[Digest], options: RunOptions, reuse: ReuseIndex | None, out_root: Path) -> list[Paper]:
    """The selected papers whose requests go into batches: with ``reuse``, not those the write
    phase will take from another day (:mod:`pipeline.reuse`): a paper of an earlier digest of this
    run (same id and abstract), or one finished under the output root before."""
    if reuse is None:
        return selected_papers(digests, options)
    seen: set[str] = set()
    papers = []
    for digest in digests:
        out_dir = output_dir(out_root, digest.path)
        for paper in select_papers(digest, options.ids, options.limit):
            key = reuse_key(paper)
            if key not in seen and reuse.find(paper, out_dir) is None:
                papers.append(paper)
            seen.add(key)
    return papers


def execute_batch_run(digest_paths: list[Path], options: RunOptions, batch: BatchOptions, *,
                      on_batch: OnBatchEvent = lambda event: None,
                      listener: Callable[[Event], None] | None = None,
                      skipped: Sequence[str] = (), backfill: bool | None = None) -> BatchRunResult:
    """``run DIGEST... --batch`` (:mod:`pipeline.batch`). ``skipped``: the files the day selection
    left out (``path: reason``), for the backfill summary of several digests. ``backfill``: run
    as a backfill even with one digest (a folder or glob that named one day, as ``run`` does);
    default: with more than one.

    Several digests run as a backfill does (:mod:`pipeline.backfill`): ``--ids`` and two digests
    writing one output folder are refused, a day that cannot be read is reported and the others
    go on, a day unchanged since its last complete run is neither planned nor written again, and
    ``backfill.json`` is written, also when the run stops (Ctrl-C, a provider or disk error:
    the days written, the day it stopped in, the days not started). Raises PipelineError
    subclasses."""
    if options.no_cache:
        raise ConfigError("--no-cache", ["--batch keeps the batch answers in the stage cache between rounds and runs: "
                                         "it needs the disk cache"])
    several = len(digest_paths) > 1 if backfill is None else backfill
    loaded, days_run, digests = _checked_days(digest_paths, options, skipped, several)
    reuse = ReuseIndex(loaded.out_root()) if options.reuse else None
    if several:  # a day unchanged since its last complete run is not planned or written again
        days_run.find_unchanged(digests, loaded, reuse is not None)
    to_run = [d for d in digests if Path(d.path) not in days_run.unchanged]
    try:
        with open_session(loaded) as session, closing(reuse) if reuse is not None else nullcontext():
            with output_locks(loaded.out_root(), to_run, "run --batch"):
                report, writer = _send(to_run, loaded, session, options, batch, on_batch, reuse)
                for digest in to_run:
                    days_run.runs[Path(digest.path)] = write_outputs(
                        [digest], loaded, writer, session.cache, out_root=loaded.out_root(), ids=options.ids,
                        limit=options.limit, listener=listener, reuse=reuse)[0]
    except (KeyboardInterrupt, PipelineError, OSError) as exc:
        if several:
            why = INTERRUPTED if isinstance(exc, KeyboardInterrupt) else str(exc)
            days_run.write(digests, selected_papers(digests, options), stopped=why)
        raise
    runs = list(days_run.runs.values())
    if not several:
        return BatchRunResult(report, runs)
    return BatchRunResult(report, runs, days_run.write(digests, selected_papers(digests, options)))


def _checked_days(digest_paths: list[Path], options: RunOptions, skipped: Sequence[str],
                  several: bool) -> tuple[LoadedConfig, _DaysRun, list[Digest]]:
    """The checked config, the days (with those that cannot be read) and the readable digests;
    with several digests, ``--ids`` and two digests writing one output folder are refused."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    days = [DayInput(path, day_of(path.name)) for path in digest_paths]
    if several and options.ids:
        raise ConfigError("--ids", [IDS_WITH_SEVERAL])
    loaded = load_run_config(options)
    require_batch(loaded, "--batch")
    if several:
        refuse_shared_output(days, loaded.out_root())
    days_run = _DaysRun(days, started, list(skipped), loaded.out_root())
    return loaded, days_run, _readable(days, days_run.unreadable)


def _send(digests: list[Digest], loaded: LoadedConfig, session: Session, options: RunOptions, batch: BatchOptions,
          on_batch: OnBatchEvent, reuse: ReuseIndex | None) -> tuple[BatchReport, Provider]:
    """The batch rounds for ``digests`` (none when empty); returns their report and the provider
    the write phase uses (one that answers only from the cache unless ``--allow-direct``)."""
    provider = session.provider()
    if not digests:
        return BatchReport(), provider
    client = BatchClient(**loaded.config.provider_settings())
    try:
        driver = BatchDriver(papers_to_send(digests, options, reuse, loaded.out_root()), loaded, provider,
                             session.cache, client, StateFile.load(loaded.out_root()), batch, on_batch)
        report = driver.run()
    finally:
        client.close()
    if batch.allow_direct:
        return report, provider
    reasons = {p.request: report.unanswered[p.cache_key] for p in driver.final.sendable} if driver.final else {}
    return report, BatchOnlyProvider(provider, reasons)


@dataclass
class _DaysRun:
    """The days of a ``run --batch`` over several digests, for its backfill summary: the
    ``unreadable`` ones (path -> error), the ``unchanged`` ones (path -> last run's summary) and
    the ``runs`` written so far (path -> result)."""

    days: list[DayInput]
    started: str
    skipped: list[str]
    out_root: Path
    unreadable: dict[Path, InputError] = field(default_factory=dict)
    unchanged: dict[Path, dict] = field(default_factory=dict)
    runs: dict[Path, RunResult] = field(default_factory=dict)

    def find_unchanged(self, digests: list[Digest], loaded: LoadedConfig, reuse: bool) -> None:
        for digest in digests:
            previous = unchanged_day(output_dir(self.out_root, digest.path), digest, loaded, reuse=reuse)
            if previous is not None:
                self.unchanged[Path(digest.path)] = previous

    def write(self, digests: list[Digest], selected: list[Paper], stopped: str | None = None) -> BackfillResult:
        """The backfill summary so far, written to ``backfill.json`` (if the disk allows, when
        ``stopped``: the original error is what the user sees). Distinct papers: those
        ``selected`` and those a written or unchanged day's output holds."""
        reports: dict[Path, DayReport] = {}
        pending = []
        for day in self.days:
            if day.path in self.unreadable:
                reports[day.path] = error_report(day, self.unreadable[day.path])
            elif day.path in self.unchanged:
                reports[day.path] = unchanged_report(day, output_dir(self.out_root, day.path), self.unchanged[day.path])
            elif day.path in self.runs:
                reports[day.path] = done_report(day, self.runs[day.path])
            else:
                pending.append(day)
        if pending:  # the run stopped: the day it was in, and those it never reached
            reports.update(zip((day.path for day in pending),
                               not_finished(pending, stopped or "stopped", self.out_root, self.started)))
        ordered = [reports[day.path] for day in self.days]
        distinct = {p.arxiv_id for p in selected}
        for digest in digests:
            if Path(digest.path) in self.unchanged:  # every paper file is there (unchanged_day checked)
                distinct |= {p.arxiv_id for p in digest.papers}
            elif Path(digest.path) in self.runs:
                distinct |= written_ids(digest, output_dir(self.out_root, digest.path))
        result = backfill_result(self.started, ordered, self.skipped, len(distinct), stopped)
        try:
            write_backfill(self.out_root, result)
        except OSError:
            if stopped is None:
                raise
        return result


def _readable(days: list[DayInput], unreadable: dict[Path, InputError]) -> list[Digest]:
    """The parsed digests of ``days``. One digest that cannot be read raises InputError; of
    several, each that cannot be read (not a digest, cut off, unreadable) goes into
    ``unreadable`` and the others go on, as in a backfill; none readable raises the first error."""
    digests = []
    for day in days:
        try:
            digests.append(parse_digest(day.path))
        except InputError as exc:
            if len(days) == 1:
                raise
            unreadable[day.path] = exc
    if not digests:
        raise next(iter(unreadable.values()))
    return digests



@dataclass
class ExportResult:
    """``batch export``: the files written (path, endpoint, lines) and the requests waiting on them."""

    files: list[tuple[Path, str, int]] = field(default_factory=list)
    waiting: int = 0

    @property
    def requests(self) -> int:
        return sum(lines for _, _, lines in self.files)


def export_paths(output: Path, count: int) -> list[Path]:
    """``output`` for the first file; ``<stem>.2<suffix>``, ``.3``... for the next ones."""
    return [output if n == 1 else output.with_name(f"{output.stem}.{n}{output.suffix}") for n in range(1, count + 1)]


def execute_export(digest_paths: list[Path], options: RunOptions, output: Path, *,
                   batch: BatchOptions | None = None) -> ExportResult:
    """``batch export``: the next round's requests as Batch API input files (nothing sent)."""
    loaded, digests = _checked(digest_paths, options, "batch export")
    batch = batch or BatchOptions()
    with open_session(loaded, no_cache=options.no_cache) as session:
        ctx, _ = run_context(loaded, session.provider(), session.cache, EventLog(), planner=Planner())
        reuse = ReuseIndex(loaded.out_root()) if options.reuse else None
        with closing(reuse) if reuse is not None else nullcontext():
            plan = plan_papers(papers_to_send(digests, options, reuse, loaded.out_root()), ctx)
        files: list[InputFile] = split_lines(plan.sendable, max_lines=batch.max_lines, max_bytes=batch.max_bytes)
        result = ExportResult(waiting=len(plan.estimated))
        for path, part in zip(export_paths(output, len(files)), files):
            write_text_atomic(path, part.content().decode("utf-8"))
            mark_exported(session.cache, part.keys)
            result.files.append((path, part.endpoint, len(part.keys)))
    return result


@dataclass
class ImportResult:
    """``batch import``: answers put into the cache (``cache_dir``) and the ``failures``."""

    answers: int
    failures: list[LineFailure]
    cache_dir: Path
    unmatched: int = 0
    """Answers whose custom_id no ``batch export`` to this cache wrote (stored all the same)."""


def execute_import(results_path: Path, options: RunOptions) -> ImportResult:
    """``batch import``: every answer of an output/error file (either shape) into the stage
    cache. Raises InputError when the file cannot be read or holds no batch output line."""
    loaded = load_run_config(options)
    try:
        with results_path.open("rb") as handle:
            results = read_results(handle)
    except OSError as exc:
        raise InputError(results_path, f"cannot read the results file: {exc.strerror or exc}") from exc
    if not results.answers and all(f.key is None for f in results.failures):
        first = f" ({results.failures[0].describe()})" if results.failures else ""
        raise InputError(results_path, f"not a batch output file: no line answers a request of ours{first}")
    with open_session(loaded, no_cache=options.no_cache) as session:
        unmatched = sum(not was_exported(session.cache, a.key) for a in results.answers)
        stored = store_answers(session.cache, results.answers)
    return ImportResult(stored, results.failures, loaded.cache_dir(), unmatched)
