"""The batch state file (atomic records, pending keys, history) and the polling loop (backoff,
progress, transient status-check failures) with a scripted client."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.batch_cli import read_json

from pipeline.batch.client import BatchStatus
from pipeline.batch.poll import PollPolicy, wait_for
from pipeline.batch.report import BatchEvent
from pipeline.batch.state import HISTORY, IMPORTED, STATE_NAME, BatchRecord, StateFile
from pipeline.errors import ProviderError


def _record(batch_id: str | None, keys: list[str], base_url: str = "http://h/v1") -> BatchRecord:
    return BatchRecord(id=batch_id, input_file_id=f"file-{batch_id}", endpoint="/v1/chat/completions",
                       base_url=base_url, round=1, keys=keys)


def test_records_are_saved_at_once_and_pending_keys_are_per_server(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path)
    a = state.add(_record("batch_a", ["k1", "k2"]))
    state.add(_record("batch_b", ["k3"], base_url="http://other/v1"))
    saved = read_json(tmp_path / STATE_NAME)
    assert [(b["id"], b["status"], b["lines"]) for b in saved["batches"]] == [("batch_a", "uploaded", 2),
                                                                             ("batch_b", "uploaded", 1)]
    again = StateFile.load(tmp_path)
    assert again.pending_keys("http://h/v1") == {"k1", "k2"} and again.pending_keys() == {"k1", "k2", "k3"}
    state.update(a, status=IMPORTED)
    assert state.pending_keys("http://h/v1") == set() and a.keys == [] and a.lines == 2
    assert read_json(tmp_path / STATE_NAME)["batches"][0]["status"] == IMPORTED


def test_only_the_last_imported_records_are_kept(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path)
    pending = state.add(_record("batch_pending", ["k"]))
    for n in range(HISTORY + 5):
        state.update(state.add(_record(f"batch_{n}", [f"k{n}"])), status=IMPORTED)
    ids = [b.id for b in StateFile.load(tmp_path).state.batches]
    assert len(ids) == HISTORY + 1 and ids[0] == pending.id and ids[1] == "batch_5"


class ScriptedClient:
    """``retrieve`` answers from a script per batch id: a BatchStatus or an exception to raise."""

    def __init__(self, script: dict[str, list]) -> None:
        self.script = script
        self.base_url = "http://h/v1"

    def retrieve(self, batch_id: str) -> BatchStatus:
        step = self.script[batch_id].pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def _status(batch_id: str, status: str, done: int = 0) -> BatchStatus:
    return BatchStatus(batch_id, status, counts={"total": 2, "completed": done, "failed": 0})


def test_polls_with_growing_waits_until_every_batch_ends_reporting_each_change(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path)
    records = [state.add(_record("a", ["k1"])), state.add(_record("b", ["k2"]))]
    transient = ProviderError("openai", "connection reset", retryable=True)
    client = ScriptedClient({"a": [_status("a", "validating"), _status("a", "in_progress", 1), transient,
                                   _status("a", "in_progress", 1), _status("a", "completed", 2)],
                             "b": [_status("b", "completed", 2)]})
    events: list[BatchEvent] = []
    sleeps: list[float] = []
    final = wait_for(records, client, state, PollPolicy(first=1, factor=2, most=5), events.append, sleeps.append)
    assert {k: v.status for k, v in final.items()} == {"a": "completed", "b": "completed"}
    assert sleeps == [1, 2, 4, 5]
    assert [(e.kind, e.batch_id, e.status) for e in events] == [
        ("status", "a", "validating"), ("status", "b", "completed"), ("status", "a", "in_progress"),
        ("poll_error", "a", "in_progress"), ("status", "a", "completed")]
    assert [r["status"] for r in read_json(tmp_path / STATE_NAME)["batches"]] == ["completed", "completed"]


def test_a_permanent_error_or_too_many_transient_ones_stop_the_wait(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path)
    record = state.add(_record("a", ["k"]))
    permanent = ProviderError("openai", "401 unauthorized", status_code=401)
    with pytest.raises(ProviderError, match="401"):
        wait_for([record], ScriptedClient({"a": [permanent]}), state, PollPolicy(), lambda e: None, lambda s: None)
    transient = ProviderError("openai", "timed out", retryable=True)
    client = ScriptedClient({"a": [transient] * 3})
    with pytest.raises(ProviderError, match="timed out"):
        wait_for([record], client, state, PollPolicy(max_errors=3), lambda e: None, lambda s: None)
