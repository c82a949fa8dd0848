"""The rounds of a batch run: plan, submit, poll, import, until nothing is left to send.

:class:`BatchDriver` first resumes every batch the state file lists as pending for this server
(polls it to its end and imports it: a run killed while a batch was running submits nothing
again), then goes round by round over the selected papers of every digest (one plan over all,
so a request two papers share is sent once):

1. plan (:func:`pipeline.plan.plan_papers` with the real stage cache): the sendable requests,
   less those given up and those in a pending batch;
2. nothing left: stop; else write them as input files (:func:`pipeline.batch.lines.split_lines`),
   upload each and create its batch, recording it in the state file before and after;
3. poll every batch of the round to its end (:func:`pipeline.batch.poll.wait_for`);
4. download its output and error files, put every answer into the cache
   (:func:`pipeline.batch.results.store_answers`) and mark it imported. A line that failed,
   expired or is missing from both files counts one attempt against its request; a request is
   sent again in the next round until it has failed ``1 + line_retries`` times (then it is
   given up for this run).

Rounds are bounded (:func:`round_limit`): two model stages in a chain (translate, then
re-summarize), each with its first answer and ``validation.max_repairs`` re-asks, plus a round
for each allowed retry of a failed line. What the last plan still needs is reported
(:attr:`BatchReport.unanswered`, :attr:`BatchReport.left`) for the write phase
(:mod:`pipeline.batch.finish`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.batch.client import BatchClient, BatchStatus
from pipeline.batch.lines import MAX_BYTES, MAX_LINES, InputFile, split_lines
from pipeline.batch.poll import PollPolicy, wait_for
from pipeline.batch.report import BatchEvent, BatchReport, OnBatchEvent
from pipeline.batch.results import LineFailure, Results, read_results, store_answers
from pipeline.batch.state import IMPORTED, BatchRecord, StateFile
from pipeline.cache import CacheStore
from pipeline.config import LoadedConfig
from pipeline.events import EventLog
from pipeline.llm.base import Provider
from pipeline.models import Paper
from pipeline.plan import Plan, PlannedRequest, Planner, plan_papers
from pipeline.runner import run_context

LINE_RETRIES = 2
"""Times a request whose line failed or expired is sent again (in later rounds) per run."""
CHAINED_STAGES = 2
"""Model stages in the longest chain of a paper: translate, then re-summarize (which reads the translations)."""


@dataclass
class BatchOptions:
    """How a batch run goes: ``poll`` (seconds between status checks), ``line_retries``,
    ``max_rounds`` (None: :func:`round_limit`), ``allow_direct`` (requests still unanswered
    after the last round may be sent as direct calls), input file limits, and ``sleep``."""

    poll: PollPolicy = field(default_factory=PollPolicy)
    line_retries: int = LINE_RETRIES
    max_rounds: int | None = None
    allow_direct: bool = False
    max_lines: int = MAX_LINES
    max_bytes: int = MAX_BYTES
    sleep: Callable[[float], None] = time.sleep


def round_limit(loaded: LoadedConfig, options: BatchOptions) -> int:
    """The most rounds a run makes (module docstring)."""
    if options.max_rounds is not None:
        return options.max_rounds
    return CHAINED_STAGES * (loaded.config.validation.max_repairs + 1) + options.line_retries


class BatchDriver:
    """The rounds of one batch run (module docstring). ``provider`` is the configured provider,
    used for its name and model identities (the cache keys) only; ``client`` talks to its Batch API."""

    def __init__(self, papers: list[Paper], loaded: LoadedConfig, provider: Provider, cache: CacheStore,
                 client: BatchClient, state: StateFile, options: BatchOptions, emit: OnBatchEvent) -> None:
        self.papers, self.loaded, self.provider, self.cache = papers, loaded, provider, cache
        self.client, self.state, self.options, self.emit = client, state, options, emit
        self.report = BatchReport()
        self.attempts: Counter[str] = Counter()
        self.reasons: dict[str, str] = {}
        self.given_up: set[str] = set()
        self.final: Plan | None = None

    def run(self) -> BatchReport:
        """Resume, then run the rounds; returns the report (``final`` holds the last plan).
        Raises ProviderError (Batch API errors), CacheError, OSError (state file)."""
        started = time.perf_counter()
        self._resume()
        limit = round_limit(self.loaded, self.options)
        for number in range(1, limit + 1):
            todo = self._todo(self.plan(), number)
            if not todo:
                break
            self.report.rounds = number
            self._finish(self._submit(todo, number))
        self.final = self.plan()
        for planned in self.final.sendable:
            self.report.unanswered[planned.cache_key] = self.reasons.get(planned.cache_key) or (
                f"not sent: the round limit ({limit}) came first")
        self.report.left = len(self.final.requests)
        self.report.wall_seconds = time.perf_counter() - started
        return self.report

    def plan(self) -> Plan:
        """The plan of every selected paper against the cache as it is now."""
        ctx, _ = run_context(self.loaded, self.provider, self.cache, EventLog(), planner=Planner())
        return plan_papers(self.papers, ctx)

    def _todo(self, plan: Plan, number: int) -> list[PlannedRequest]:
        """The requests of this round: sendable, not given up, not in a pending batch."""
        pending = self.state.pending_keys(self.client.base_url)
        todo = [r for r in plan.sendable if r.cache_key not in self.given_up and r.cache_key not in pending]
        waiting = len(plan.estimated)
        detail = f" ({waiting} more wait for their answers)" if waiting else ""
        if todo:
            self.emit(BatchEvent("round", number, requests=len(todo), detail=detail))
        return todo

    def _resume(self) -> None:
        """Poll and import every batch an earlier run left pending on this server."""
        records = self.state.pending(self.client.base_url)
        for record in records:
            if record.id is None:  # uploaded, then killed before (or while) the batch was created
                found = self.client.find_batch(record.input_file_id)
                status = found or self.client.create(record.input_file_id, record.endpoint, _metadata(record.round))
                self.state.update(record, id=status.id, status=status.status)
            self.report.resumed.append(record.id or "")
            self.emit(BatchEvent("resumed", 0, record.id or "", record.status, requests=len(record.keys)))
        self._finish(records)

    def _submit(self, requests: list[PlannedRequest], number: int) -> list[BatchRecord]:
        """Upload and create the batches of one round, each recorded before and after creation."""
        files = split_lines(requests, max_lines=self.options.max_lines, max_bytes=self.options.max_bytes)
        return [self._submit_file(part, number, index) for index, part in enumerate(files, 1)]

    def _submit_file(self, part: InputFile, number: int, index: int) -> BatchRecord:
        file_id = self.client.upload(f"digest-pipeline-round{number}-{index}.jsonl", part.content())
        record = self.state.add(BatchRecord(input_file_id=file_id, endpoint=part.endpoint,
                                            base_url=self.client.base_url, round=number, keys=part.keys))
        status = self.client.create(file_id, part.endpoint, _metadata(number))
        self.state.update(record, id=status.id, status=status.status)
        self.report.submitted.append(status.id)
        self.report.requests += len(part.keys)
        self.emit(BatchEvent("submitted", number, status.id, status.status, requests=len(part.keys),
                             detail=part.endpoint))
        return record

    def _finish(self, records: list[BatchRecord]) -> None:
        """Wait for every batch of ``records`` to end, then import each."""
        if not records:
            return
        final = wait_for(records, self.client, self.state, self.options.poll, self.emit, self.options.sleep)
        for record in records:
            self._import(record, final[record.id or ""])

    def _import(self, record: BatchRecord, status: BatchStatus) -> None:
        """Put a finished batch's answers into the cache; count its failed lines; mark it imported."""
        keys = set(record.keys)
        results = self._collect(status)
        answers = [a for a in results.answers if a.key in keys]
        stored = store_answers(self.cache, answers)
        failures = self._failures(record, status, results, keys - {a.key for a in answers})
        for key, reason in failures.items():
            self._failed(key, reason)
        self.state.update(record, status=IMPORTED)
        self.report.answers += stored
        self.report.failed_lines += len(failures)
        detail = next(iter(failures.values()), "")
        self.emit(BatchEvent("imported", record.round, status.id, status.status, dict(status.counts), stored,
                             len(failures), detail))

    def _collect(self, status: BatchStatus) -> Results:
        """The lines of a finished batch's output and error files (either may be missing)."""
        results = Results()
        for file_id in (status.output_file_id, status.error_file_id):
            if file_id:
                results.extend(read_results(self.client.download(file_id).splitlines()))
        return results

    def _failures(self, record: BatchRecord, status: BatchStatus, results: Results,
                  unanswered: set[str]) -> dict[str, str]:
        """Why each unanswered key of ``record`` has no answer (its error line, else the batch's fate)."""
        lines: dict[str, LineFailure] = {f.key: f for f in results.failures if f.key in unanswered}
        fate = "; ".join(status.errors) or f"no answer in the batch's files (batch {status.status})"
        return {key: (f"{lines[key].reason} (batch {status.status})" if key in lines else fate)
                for key in record.keys if key in unanswered}

    def _failed(self, key: str, reason: str) -> None:
        """Count a failed line against its request; give it up after ``1 + line_retries`` failures."""
        self.attempts[key] += 1
        self.reasons[key] = f"{reason}; sent {self.attempts[key]} time(s)"
        if self.attempts[key] > self.options.line_retries:
            self.given_up.add(key)


def _metadata(number: int) -> dict[str, str]:
    """``metadata`` of a created batch (shown in the provider's dashboard)."""
    return {"created_by": "digest-pipeline", "round": str(number)}
