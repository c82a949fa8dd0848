"""A batch run killed while its batch is at the provider resumes it: ``kill -9`` of a real
``run --batch`` process while the loopback server holds the batch ``in_progress``, then the same
command polls that batch to completion and resubmits nothing; a run killed between uploading an
input file and creating (or recording) its batch finds or creates that batch once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.batch_cli import batch_options, direct_calls, input_keys, openai_options, read_json
from support.cli import run_cli
from support.fake_batch_server import FakeBatchServer
from support.paths import SEED
from support.pipeline_responder import pipeline_responder

from pipeline.batch.client import BatchClient
from pipeline.batch.state import STATE_NAME, BatchRecord, StateFile

CLI = [sys.executable, "-c", "from pipeline.cli import main; main()"]


def _wait_for_state(path: Path, status: str, timeout: float = 60.0) -> dict:
    """The state file once its first batch is recorded with ``status``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = read_json(path)
        except (OSError, ValueError):
            state = {}
        if state.get("batches") and state["batches"][0]["status"] == status:
            return state
        time.sleep(0.02)
    raise AssertionError(f"the state file never recorded a batch {status}")


def _good(tmp_path: Path) -> set[str]:
    papers = read_json(tmp_path / "out" / "seed-digest" / "digest.json")["papers"]
    return {p["validation"]["status"] for p in papers if p["validation"]["skip_reason"] != "not_selected"}


def test_kill_9_during_a_batch_then_the_same_command_polls_it_and_resubmits_nothing(tmp_path: Path) -> None:
    args = [str(a) for a in ("run", SEED, *batch_options("URL", tmp_path), "--limit", "3")]
    with FakeBatchServer(responder=pipeline_responder, hold=True) as server:
        args[args.index("URL")] = server.base_url
        process = subprocess.Popen(CLI + args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   env={**os.environ, "OMP_WAIT_POLICY": "passive"})
        try:
            held = server.wait_for_status("in_progress")
            state = _wait_for_state(tmp_path / "out" / STATE_NAME, "in_progress")
            process.kill()  # SIGKILL: no cleanup of any kind
        finally:
            process.wait(timeout=30)
        assert process.returncode == -9
        assert [(b["id"], b["status"]) for b in state["batches"]] == [(held.id, "in_progress")]
        killed_at = len(server.requests)
        server.release()
        again = run_cli(*args)
        assert again.exit_code == 0, again.output
        after = server.requests[killed_at:]
        assert any(r.method == "GET" and r.path == f"/v1/batches/{held.id}" for r in after)
        assert f"resuming batch {held.id}" in again.stderr
        batches = list(server.batches.values())
        assert len(batches) == 2 and batches[0].id == held.id and batches[0].status == "completed"
        assert not set(input_keys(server, batches[0])) & set(input_keys(server, batches[1]))  # nothing resent
        assert len(server.requests_to("POST", "/v1/files")) == 2 and direct_calls(server) == 0
    assert read_json(tmp_path / "out" / STATE_NAME)["batches"][0]["status"] == "imported"
    assert _good(tmp_path) <= {"ok", "repaired"}


@pytest.mark.parametrize("created", [True, False], ids=["batch created, id lost", "file uploaded only"])
def test_an_upload_recorded_before_a_kill_becomes_one_batch(tmp_path: Path, created: bool) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:
        exported = run_cli("batch", "export", SEED, "-o", tmp_path / "round1.jsonl",
                           *openai_options(server.base_url, tmp_path), "--limit", "2")
        assert exported.exit_code == 0, exported.output
        content = (tmp_path / "round1.jsonl").read_bytes()
        client = BatchClient(base_url=server.base_url)
        file_id = client.upload("round1.jsonl", content)
        if created:
            client.create(file_id, "/v1/chat/completions", {})
        client.close()
        keys = [json.loads(line)["custom_id"] for line in content.splitlines()]
        StateFile(tmp_path / "out" / STATE_NAME).add(BatchRecord(
            input_file_id=file_id, endpoint="/v1/chat/completions", base_url=server.base_url, round=1, keys=keys))
        result = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "2")
        assert result.exit_code == 0, result.output
        over_file = [r for r in server.requests_to("POST", "/v1/batches") if (r.body or {}).get("input_file_id") == file_id]
        assert len(over_file) == 1 and len(server.batches) == 2  # that file's batch, then round 2
        assert "resuming batch" in result.stderr and direct_calls(server) == 0
        assert not set(keys) & set(input_keys(server, list(server.batches.values())[1]))
    assert _good(tmp_path) <= {"ok", "repaired"}


def test_an_unreadable_state_file_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / STATE_NAME).write_text("{not json", encoding="utf-8")
    with FakeBatchServer(responder=pipeline_responder) as server:
        result = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "1")
        assert result.exit_code == 2 and STATE_NAME in result.stderr and "remove it to forget them" in result.stderr
        assert server.requests_to("POST", "/v1/files") == []


def test_a_batch_the_server_no_longer_knows_is_sent_again(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:
        exported = run_cli("batch", "export", SEED, "-o", tmp_path / "round1.jsonl",
                           *openai_options(server.base_url, tmp_path), "--limit", "1")
        assert exported.exit_code == 0, exported.output
        keys = [json.loads(x)["custom_id"] for x in (tmp_path / "round1.jsonl").read_text().splitlines()]
        StateFile(tmp_path / "out" / STATE_NAME).add(BatchRecord(
            id="batch_gone", input_file_id="file-gone", endpoint="/v1/chat/completions", base_url=server.base_url,
            round=1, keys=keys, status="in_progress"))
        result = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "1")
        assert result.exit_code == 0, result.output
        assert "does not know batch batch_gone (404)" in result.stderr
        assert set(keys) <= set(input_keys(server, list(server.batches.values())[0]))


def test_a_locked_output_folder_stops_the_run_before_anything_is_sent(tmp_path: Path) -> None:
    from pipeline.output.lock import output_lock

    with FakeBatchServer(responder=pipeline_responder) as server, \
            output_lock(tmp_path / "out" / "seed-digest", "run"):
        result = run_cli("run", SEED, *batch_options(server.base_url, tmp_path), "--limit", "1")
        assert result.exit_code == 2 and "output folder in use" in result.stderr
        assert server.requests_to("POST", "/v1/files") == []
