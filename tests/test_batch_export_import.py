"""``batch export`` / ``batch import`` for engines the user runs (vLLM ``run_batch``): round trips
with results in each output shape, then ``run`` writes the outputs with no model call; failed
lines are named and sent again by the next export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.batch_cli import direct_calls, openai_options, read_json
from support.batch_engine import run_engine
from support.cli import fake_options, run_cli
from support.fake_batch_server import FakeBatchServer
from support.paths import SEED
from support.pipeline_responder import pipeline_responder

LIMIT = ("--limit", "3")


def _export(base_url: str, tmp_path: Path, name: str):
    return run_cli("batch", "export", SEED, "-o", tmp_path / name, *openai_options(base_url, tmp_path), *LIMIT)


def _import(tmp_path: Path, results: Path, *extra: str):
    return run_cli("batch", "import", results, "--config", openai_options("", tmp_path)[1],
                   "--cache-dir", tmp_path / "cache", *extra)


@pytest.mark.parametrize("shape", ["openai", "vllm", "bare"])
def test_export_engine_import_until_nothing_is_left_then_run_makes_no_call(tmp_path: Path, shape: str) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:  # only to see that run makes no call
        lines, said = [], []
        for number in range(1, 5):
            exported = _export(server.base_url, tmp_path, f"requests-{number}.jsonl")
            assert exported.exit_code == 0, exported.output
            said.append(exported.stdout)
            if "nothing left to send" in exported.stdout:
                break
            results = tmp_path / f"results-{number}.jsonl"
            lines.append(run_engine(tmp_path / f"requests-{number}.jsonl", results, shape))
            imported = _import(tmp_path, results)
            assert imported.exit_code == 0, imported.output
            assert f"{lines[-1]} answers put into the cache" in imported.stdout
        assert lines == [3, 3] and "3 more requests wait for these answers" in said[0]  # fields, then TL;DRs
        run = run_cli("run", SEED, *openai_options(server.base_url, tmp_path), *LIMIT)
        assert run.exit_code == 0, run.output
        assert direct_calls(server) == 0 and server.batches == {}
    summary = read_json(tmp_path / "out" / "seed-digest" / "run.json")
    assert summary["model_calls"] == 6 and summary["papers"] == 3
    assert summary["cost"] == pytest.approx((summary["prompt_tokens"] * 0.15 + summary["completion_tokens"] * 0.6)
                                            / 1e6 * 0.5)


def test_failed_lines_are_named_and_the_next_export_sends_them_again(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:
        assert _export(server.base_url, tmp_path, "requests.jsonl").exit_code == 0
        requests = [json.loads(x) for x in (tmp_path / "requests.jsonl").read_text(encoding="utf-8").splitlines()]
        run_engine(tmp_path / "requests.jsonl", tmp_path / "results.jsonl", "vllm", fail=lambda index, line: index == 1)
        imported = _import(tmp_path, tmp_path / "results.jsonl", "--json")
        assert imported.exit_code == 1, imported.output
        report = json.loads(imported.stdout)
        assert report["answers"] == 2
        assert report["failed"] == [f"{tmp_path / 'results.jsonl'}:2 (custom_id {requests[1]['custom_id'][:12]}…): "
                                    "HTTP 400: maximum context length exceeded"]
        again = _export(server.base_url, tmp_path, "again.jsonl")
        assert again.exit_code == 0
        resent = [json.loads(x)["custom_id"] for x in (tmp_path / "again.jsonl").read_text().splitlines()]
        assert requests[1]["custom_id"] in resent


def test_a_file_that_is_not_a_batch_output_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.jsonl").write_text('{"id": "2601.16302", "title": "x"}\nplain text\n', encoding="utf-8")
    result = _import(tmp_path, tmp_path / "notes.jsonl")
    assert result.exit_code == 2 and "not a batch output file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    missing = _import(tmp_path, tmp_path / "none.jsonl")
    assert missing.exit_code == 2 and "cannot read the results file" in missing.stderr


def test_export_needs_a_provider_whose_engine_reads_batch_lines(tmp_path: Path) -> None:
    result = run_cli("batch", "export", SEED, "-o", tmp_path / "r.jsonl", *fake_options(tmp_path))
    assert result.exit_code == 2 and "the fake provider has no batch engine" in result.stderr
    assert not (tmp_path / "r.jsonl").exists()


def test_answers_to_requests_never_exported_here_are_a_warning_exit_1(tmp_path: Path) -> None:
    with FakeBatchServer(responder=pipeline_responder) as server:
        assert _export(server.base_url, tmp_path, "requests.jsonl").exit_code == 0
    run_engine(tmp_path / "requests.jsonl", tmp_path / "results.jsonl", "openai")
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    other = [json.loads(line) for line in lines]
    for n, line in enumerate(other):  # another run's requests: custom_ids this cache never exported
        line["custom_id"] = f"{n:064x}"
    (tmp_path / "other.jsonl").write_text("".join(json.dumps(x) + "\n" for x in other), encoding="utf-8")
    mixed = _import(tmp_path, tmp_path / "other.jsonl")
    assert mixed.exit_code == 1, mixed.output
    assert f"warning: {len(other)} of them answer no request `batch export` wrote" in " ".join(mixed.output.split())
    ours = _import(tmp_path, tmp_path / "results.jsonl", "--json")
    assert ours.exit_code == 0 and json.loads(ours.stdout)["unmatched"] == 0
