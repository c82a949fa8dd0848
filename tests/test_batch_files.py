"""Batch input lines (custom_id, body, splitting at the API's limits) and output lines read back
in every shape engines write (OpenAI, vLLM run_batch old and new), into the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.batch_engine import output_line
from support.eval_config import write_config
from support.paths import SEED

from pipeline.batch.lines import batch_line, encode_line, key_of, split_lines
from pipeline.batch.results import read_results, store_answers
from pipeline.cache import UNREPORTED, MemoryCacheStore
from pipeline.config import load_config
from pipeline.events import EventLog
from pipeline.llm.base import ChatMessage, LLMRequest
from pipeline.llm.fake import FakeProvider
from pipeline.llm.openai_body import request_body
from pipeline.parse import parse_digest
from pipeline.plan import Plan, PlannedRequest, Planner, plan_papers
from pipeline.runner import run_context, select_papers

IDS = ["2601.16272", "2601.16302"]


def _plan(tmp_path: Path) -> Plan:
    loaded = load_config(write_config(tmp_path))
    ctx, _ = run_context(loaded, FakeProvider(), MemoryCacheStore(), EventLog(), planner=Planner())
    return plan_papers(select_papers(parse_digest(SEED), IDS, None), ctx)


def _planned(key: str, kind: str = "chat", text: str = "hello") -> PlannedRequest:
    request = LLMRequest(kind=kind, model="m", messages=(ChatMessage("user", text),) if kind == "chat" else (),
                         prompt=text if kind == "completion" else "")
    return PlannedRequest(key, "translate", "2601.00001", "tldr", request, True, None)  # type: ignore[arg-type]


def test_a_line_carries_the_cache_key_and_exactly_the_direct_call_body(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    planned = plan.sendable[0]
    line = batch_line(planned)
    path, body = request_body(planned.request)
    assert line == {"custom_id": planned.cache_key, "method": "POST", "url": "/v1" + path, "body": body}
    assert key_of(line["custom_id"]) == planned.cache_key and len(line["custom_id"]) == 64
    assert key_of("request-1") is None and key_of(planned.cache_key.upper()) is None and key_of(None) is None
    assert json.loads(encode_line(line)) == line and encode_line(line).endswith(b"\n")


def test_one_line_per_distinct_cache_key_grouped_by_endpoint_and_cut_at_the_limits() -> None:
    requests = [_planned(f"{n:064x}") for n in range(5)] + [_planned(f"{0:064x}")]  # a repeated key
    requests += [_planned(f"{n:064x}", kind="completion") for n in range(10, 12)]
    files = split_lines(requests, max_lines=2)
    assert [(f.endpoint, len(f.keys)) for f in files] == [("/v1/chat/completions", 2), ("/v1/chat/completions", 2),
                                                          ("/v1/chat/completions", 1), ("/v1/completions", 2)]
    assert sum(len(f.keys) for f in files) == 7
    size = len(encode_line(batch_line(requests[0])))
    by_bytes = split_lines(requests[:5], max_bytes=2 * size + 1)
    assert [len(f.keys) for f in by_bytes] == [2, 2, 1] and all(f.size <= 2 * size + 1 for f in by_bytes)
    assert by_bytes[0].content() == b"".join(by_bytes[0].lines) and by_bytes[0].content().count(b"\n") == 2
    with pytest.raises(ValueError, match="over the"):
        split_lines(requests[:1], max_bytes=size - 1)


@pytest.mark.parametrize("shape", ["openai", "vllm", "bare"])
def test_output_lines_of_every_shape_give_the_answer_and_usage(tmp_path: Path, shape: str) -> None:
    line = batch_line(_plan(tmp_path).sendable[0])
    text = json.dumps(output_line(line, 0, shape, responder=lambda body: '{"translation": "Hi."}'))
    results = read_results([text, ""])
    assert results.failures == [] and len(results.answers) == 1
    answer = results.answers[0]
    assert (answer.key, answer.text, answer.finish_reason) == (line["custom_id"], '{"translation": "Hi."}', "stop")
    assert answer.usage.calls == 1 and answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0


@pytest.mark.parametrize("shape, reason", [("openai", "HTTP 503: The model is overloaded"),
                                           ("vllm", "HTTP 400: maximum context length exceeded")])
def test_failed_lines_name_their_key_and_the_engine_message(tmp_path: Path, shape: str, reason: str) -> None:
    line = batch_line(_plan(tmp_path).sendable[0])
    results = read_results([json.dumps(output_line(line, 0, shape, failed=True))])
    assert results.answers == [] and [(f.line, f.key, f.reason) for f in results.failures] == [
        (1, line["custom_id"], reason)]


def test_expired_unreadable_and_foreign_lines_are_failures() -> None:
    key = f"{7:064x}"
    expired = {"id": "x", "custom_id": key, "response": None,
               "error": {"code": "batch_expired", "message": "not executed before the window expired"}}
    vllm_error = {"id": "y", "custom_id": key, "response": {"status_code": 400, "request_id": "r", "body": None},
                  "error": {"object": "error", "message": "bad", "type": "BadRequestError", "code": 400}}
    no_choice = {"custom_id": key, "response": {"status_code": 200, "body": {"choices": []}}}
    results = read_results([json.dumps(expired), "{not json", json.dumps({"custom_id": "request-1"}), "[1]",
                            json.dumps(vllm_error), json.dumps(no_choice)])
    failures = [(f.line, f.key, f.code, f.reason) for f in results.failures]
    assert failures[0] == (1, key, "batch_expired", "batch_expired: not executed before the window expired")
    assert failures[1][:2] == (2, None) and failures[1][3].startswith("not JSON")
    assert failures[2][:2] == (3, None) and "is not a request of ours" in failures[2][3]
    assert failures[3] == (4, None, None, "not a JSON object")
    assert failures[4] == (5, key, "400", "HTTP 400: bad")
    assert failures[5] == (6, key, None, "HTTP 200 with no answer")
    assert results.failures[0].describe("r.jsonl") == f"r.jsonl:1 (custom_id {key[:12]}…): {failures[0][3]}"


def test_null_content_is_an_empty_answer_as_with_a_direct_call() -> None:
    key = f"{3:064x}"
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": "length"}]}
    answer = read_results([json.dumps({"custom_id": key, "response": {"status_code": 200, "body": body}})]).answers[0]
    assert (answer.text, answer.finish_reason, answer.usage.prompt_tokens) == ("", "length", 0)


def test_stored_answers_are_marked_as_batch_answers_not_yet_reported(tmp_path: Path) -> None:
    line = batch_line(_plan(tmp_path).sendable[0])
    results = read_results([json.dumps(output_line(line, 0, "openai", responder=lambda body: "Hi."))])
    cache = MemoryCacheStore()
    assert store_answers(cache, results.answers) == 1
    entry = cache.get(line["custom_id"])
    assert entry is not None and entry["text"] == "Hi." and entry[UNREPORTED] is True
    usage = entry["usage"]
    assert usage["batch_calls"] == usage["calls"] == 1 and usage["batch_prompt_tokens"] == usage["prompt_tokens"] > 0
