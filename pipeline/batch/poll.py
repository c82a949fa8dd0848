"""Waiting for batches: poll their status with backoff and progress until each one ends.

Every batch is polled in turn; between passes the run sleeps, starting at
:attr:`PollPolicy.first` seconds and growing by :attr:`PollPolicy.factor` up to
:attr:`PollPolicy.most` (a batch takes minutes to hours: OpenAI's completion window is 24 h, and
the Batch API guide asks for sparse polling). A status or count change is written to the state
file and reported (a :class:`~pipeline.batch.report.BatchEvent` ``status``). A status check
that fails transiently (timeout, dropped connection, 429, 5xx after the SDK's own retries) is
reported and tried again on the next pass; :attr:`PollPolicy.max_errors` in a row stop the run
(ProviderError; the batch keeps running at the provider and the next run resumes it). A batch
the server does not know (404: deleted, or created with another account's key) counts as
``failed``: its requests are sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.batch.client import BatchClient, BatchStatus
from pipeline.batch.report import BatchEvent, OnBatchEvent
from pipeline.batch.state import BatchRecord, StateFile
from pipeline.errors import ProviderError


@dataclass(frozen=True)
class PollPolicy:
    """Seconds between status passes: ``first``, times ``factor`` each pass, at most ``most``;
    ``max_errors``: failed status checks in a row (per batch) before the run stops."""

    first: float = 5.0
    factor: float = 1.5
    most: float = 60.0
    max_errors: int = 10


def wait_for(records: list[BatchRecord], client: BatchClient, state: StateFile, policy: PollPolicy,
             emit: OnBatchEvent, sleep: Callable[[float], None] = time.sleep) -> dict[str, BatchStatus]:
    """Poll every record (each has a batch id) until its batch ends; returns batch id -> final
    status. Raises ProviderError (a permanent error, or too many transient ones in a row)."""
    final: dict[str, BatchStatus] = {}
    errors: dict[str, int] = {}
    delay = policy.first
    while True:
        for record in records:
            if record.id in final:
                continue
            status = _check(record, client, policy, errors, emit)
            if status is None:
                continue
            _note(record, status, state, emit)
            if status.terminal:
                final[status.id] = status
        if len(final) == len(records):
            return final
        sleep(delay)
        delay = min(policy.most, delay * policy.factor)


def _check(record: BatchRecord, client: BatchClient, policy: PollPolicy, errors: dict[str, int],
           emit: OnBatchEvent) -> BatchStatus | None:
    """One status check; None after a transient failure (reported), which counts against
    ``policy.max_errors``."""
    assert record.id is not None
    try:
        status = client.retrieve(record.id)
    except ProviderError as exc:
        if exc.status_code == 404:  # deleted, or another account's: its requests are sent again
            return BatchStatus(record.id, "failed", errors=(f"the server does not know batch {record.id} (404)",))
        errors[record.id] = errors.get(record.id, 0) + 1
        if not exc.retryable or errors[record.id] >= policy.max_errors:
            raise
        emit(BatchEvent("poll_error", record.round, record.id, record.status, detail=str(exc)))
        return None
    errors[record.id] = 0
    return status


def _note(record: BatchRecord, status: BatchStatus, state: StateFile, emit: OnBatchEvent) -> None:
    """Save and report a change of status or counts."""
    if status.status == record.status and status.counts == record.counts:
        return
    state.update(record, status=status.status, counts=dict(status.counts))
    emit(BatchEvent("status", record.round, status.id, status.status, dict(status.counts)))
