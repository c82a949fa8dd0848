"""Whole runs through the CLI (``run --provider openai --base-url http://127.0.0.1:PORT/v1``) against
the loopback test server under each injected fault: the run completes and every paper is in
``digest.json`` with a status; a bad key or model stops the run at once with one line, exit 2.

Runs use the repo's prompts as they are (text or JSON output), and for the reply faults also JSON
versions of them (``output: json`` with ``json_mode``), so both reply paths are exercised whatever
the repo's prompts declare."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.cli import run_cli
from support.paths import REPO, SEED
import yaml
from support.eval_config import write_config
from support.fake_openai_server import Fault, FakeOpenAIServer
from support.pipeline_responder import json_prompt_files, pipeline_responder, seed_responder

from pipeline.parse import parse_digest

SEED = Path(__file__).resolve().parents[1] / "samples" / "seed-digest.md"
IDS = ["2601.16272", "2601.16302", "2601.16897"]  # 2601.16897's Result holds $\mathcal{O}(1/\sqrt{T})$
CALLS_PER_PAPER = 2  # one call for the five fields, one for the TL;DR
CALLS_PER_PAPER_PER_FIELD = 6  # with a translate prompt per field (group: field): five fields and the TL;DR
FAST_RETRIES = ["--set", "retry.initial_wait=0.01", "--set", "retry.max_wait=0.05", "--set", "retry.jitter=0"]


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def once_per_request(fault: Fault) -> Callable[[int, dict[str, Any]], Fault | None]:
    """A fault plan: the first request with given messages gets ``fault``; a retry or re-ask of it
    (same messages) is answered normally. Deterministic whatever the order requests arrive in."""
    seen: set[str] = set()
    lock = threading.Lock()

    def plan(_index: int, body: dict[str, Any]) -> Fault | None:
        key = json.dumps(body.get("messages"), sort_keys=True)
        with lock:
            if key in seen:
                return None
            seen.add(key)
        return fault
    return plan


def max_tokens(name: str) -> int:
    return yaml.safe_load((REPO / "prompts" / f"{name}.yaml").read_text(encoding="utf-8"))["params"]["max_tokens"]


def run_openai(tmp_path: Path, server: FakeOpenAIServer, *args: str, json_prompts: bool = False):
    """``run`` of the test papers against ``server`` with the openai provider (no cache, fast retries)."""
    prompts = json_prompt_files() if json_prompts else None  # JSON versions of the per-field chat prompts
    config = write_config(tmp_path, provider="openai", providers={"openai": {}}, prompts=prompts,
                          per_field=json_prompts)
    return run_cli("run", SEED, "--config", config, "--provider", "openai", "--base-url", server.base_url,
                   "--ids", ",".join(IDS), "--no-cache", "--out", tmp_path / "out", "--json", *FAST_RETRIES, *args)


def outputs(tmp_path: Path) -> tuple[dict, dict, dict[str, dict]]:
    out = tmp_path / "out" / "seed-digest"
    digest = json.loads((out / "digest.json").read_text(encoding="utf-8"))
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    papers = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (out / "papers").glob("*.json")}
    return digest, run, papers


def assert_every_paper_accounted_for(tmp_path: Path) -> tuple[dict, dict]:
    digest, run, papers = outputs(tmp_path)
    selected = [p for p in digest["papers"] if p["arxiv_id"] in IDS]
    assert [p["arxiv_id"] for p in selected] == IDS
    assert sorted(papers) == sorted(IDS)
    assert all(p["validation"]["status"] in ("ok", "repaired", "failed") for p in selected)
    # the rest of the digest: listed, not processed (the run selected IDS only)
    assert {p["validation"]["issues"][0]["check"] for p in digest["papers"] if p["arxiv_id"] not in IDS} \
        <= {"not_selected"}
    return run, papers


# -- transient faults: retried (HTTP) or re-asked (reply), every paper ends ok ---------------------

HTTP_FAULTS = {
    "429-retry-after": Fault.rate_limited(retry_after="0.05"),
    "500": Fault.server_error(500),
    "503": Fault.unavailable(),
    "timeout": Fault.timeout(seconds=1.0),
    "dropped-connection": Fault.dropped(),
    "malformed-json-body": Fault.malformed(),
}


@pytest.mark.parametrize("name", HTTP_FAULTS.keys())
def test_transient_http_fault_on_every_request_is_retried(tmp_path: Path, name: str) -> None:
    fault = HTTP_FAULTS[name]
    # a short client timeout only where the fault is a timeout: elsewhere a busy CI machine
    # could time out a healthy request and add a retry the assertion below does not expect
    timeout = "0.25" if name == "timeout" else "10"
    with FakeOpenAIServer(responder=pipeline_responder, faults=once_per_request(fault)) as server:
        result = run_openai(tmp_path, server, "--timeout", timeout, "--concurrency", "4")
    assert result.exit_code == 0, result.output
    run, _ = assert_every_paper_accounted_for(tmp_path)
    assert run["status_counts"]["ok"] == len(IDS)
    assert run["model_calls"] == CALLS_PER_PAPER * len(IDS)
    assert run["retries"] == run["model_calls"]  # each call failed once, then succeeded


REPLY_FAULTS = {
    "truncated-finish-length": Fault.truncated(),
    "empty-content": Fault.empty(),
    "null-content": Fault.empty(null=True),
}


@pytest.mark.parametrize("fault", REPLY_FAULTS.values(), ids=REPLY_FAULTS.keys())
def test_unusable_json_reply_on_every_request_is_reasked(tmp_path: Path, fault: Fault) -> None:
    with FakeOpenAIServer(responder=pipeline_responder, faults=once_per_request(fault)) as server:
        result = run_openai(tmp_path, server, "--concurrency", "4", json_prompts=True)
        bodies = [r.body for r in server.requests]
    assert result.exit_code == 0, result.output
    run, _ = assert_every_paper_accounted_for(tmp_path)
    assert run["status_counts"]["ok"] == len(IDS)
    assert run["model_calls"] == 2 * CALLS_PER_PAPER_PER_FIELD * len(IDS) and run["retries"] == 0
    assert all(b["response_format"] == {"type": "json_object"} for b in bodies)
    if fault.kind == "truncated":  # the re-ask asked for twice the tokens
        first = {max_tokens("translate-chat"), max_tokens("resummarize-chat")}
        assert {b["max_tokens"] for b in bodies} == first | {2 * n for n in first}


@pytest.mark.parametrize("fault", REPLY_FAULTS.values(), ids=REPLY_FAULTS.keys())
def test_unusable_reply_with_the_repo_prompts_still_accounts_for_every_paper(tmp_path: Path, fault: Fault) -> None:
    with FakeOpenAIServer(responder=pipeline_responder, faults=once_per_request(fault)) as server:
        result = run_openai(tmp_path, server, "--concurrency", "4")
    assert result.exit_code in (0, 1), result.output
    run, _ = assert_every_paper_accounted_for(tmp_path)
    if fault.kind == "empty":  # empty is re-asked whatever the prompt's output
        assert run["status_counts"]["ok"] == len(IDS)


def test_latency_alone_changes_nothing(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=pipeline_responder, latency=0.1) as server:
        result = run_openai(tmp_path, server, "--concurrency", "8")
    assert result.exit_code == 0, result.output
    run, _ = assert_every_paper_accounted_for(tmp_path)
    assert run["status_counts"]["ok"] == len(IDS) and run["retries"] == 0
    assert run["model_calls"] == CALLS_PER_PAPER * len(IDS)


RAW_LATEX = (r"The averaged iterate reaches the canonical $\mathcal{O}(1/\sqrt{T})$ rate, with $\theta$, "
             r"$\frac{1}{n}$ and $\tau \times \nabla f$, and FedSGM keeps its guarantees on Neyman-Pearson "
             r"classification and constrained Markov decision processes.")


def latex_responder(body: dict[str, Any]) -> str:
    """Like the fake provider, but the LaTeX field's translation comes as JSON with raw LaTeX
    backslashes (invalid escapes and escapes that JSON would read as control characters)."""
    found = seed_responder().variables(body)
    if found.get("field") == "result" and r"\mathcal" in found.get("source", ""):
        return '```json\n{"translation": "' + RAW_LATEX + '"}\n```'
    return pipeline_responder(body)


def test_raw_latex_in_json_replies_reaches_the_document_intact(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=latex_responder) as server:
        result = run_openai(tmp_path, server, json_prompts=True)
    assert result.exit_code in (0, 1), result.output
    _, papers = assert_every_paper_accounted_for(tmp_path)
    doc = papers["2601.16897"]
    assert doc["translation"]["result"] == RAW_LATEX
    assert not [i for i in doc["validation"]["issues"] if i["check"] == "latex_balance" and i["severity"] == "error"]


def test_broken_json_content_is_reasked_then_the_field_fails_with_a_schema_issue(tmp_path: Path) -> None:
    method = next(p.fields["method"] for p in parse_digest(SEED).papers if p.arxiv_id == "2601.16302")

    def broken_method(body: dict[str, Any]) -> str:
        if seed_responder().variables(body).get("source") == method:
            return '{"translation": "We propose", "oops'
        return pipeline_responder(body)

    with FakeOpenAIServer(responder=broken_method) as server:
        result = run_openai(tmp_path, server, json_prompts=True)
    assert result.exit_code == 1, result.output  # finished; one paper failed validation
    run, papers = assert_every_paper_accounted_for(tmp_path)
    failed = [i for i, p in papers.items() if p["validation"]["status"] == "failed"]
    assert len(failed) == 1
    issues = [i for i in papers[failed[0]]["validation"]["issues"] if i["field"] == "translation.method"]
    assert [i["check"] for i in issues] == ["schema"]
    assert "model reply unusable" in issues[0]["message"] and "not valid JSON" in issues[0]["message"]


def fields_responder(body: dict[str, Any], *, raw_latex: bool = False, drop: str | None = None) -> str:
    """Answers a call for several fields like the fake provider, except: the LaTeX paper's result
    with raw LaTeX backslashes inside the JSON (``raw_latex``), or field ``drop`` left out."""
    fields = seed_responder().group_fields(body)
    reply = json.loads(pipeline_responder(body)) if fields else None
    if reply is None:
        return pipeline_responder(body)
    if drop in reply and len(reply) > 1:
        del reply[drop]
    text = json.dumps(reply, ensure_ascii=False)
    if raw_latex and any(r"\mathcal" in f["source"] and f["name"] == "result" for f in fields):
        return text.replace('"result": "', '"result": "' + RAW_LATEX + '", "ignored": "', 1)
    return text


def test_raw_latex_in_a_reply_for_several_fields_reaches_the_document_intact(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=lambda body: fields_responder(body, raw_latex=True)) as server:
        result = run_openai(tmp_path, server)
        bodies = [r.body for r in server.requests_to("/v1/chat/completions")]
    assert result.exit_code in (0, 1), result.output
    _, papers = assert_every_paper_accounted_for(tmp_path)
    assert papers["2601.16897"]["translation"]["result"] == RAW_LATEX
    schema = next(b["response_format"] for b in bodies if "fields" in str(b["messages"][0]["content"]))
    assert schema["type"] == "json_schema" and schema["json_schema"]["strict"] is True


def test_a_field_missing_from_the_reply_is_reasked_alone(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=lambda body: fields_responder(body, drop="method")) as server:
        result = run_openai(tmp_path, server)
        bodies = [r.body for r in server.requests_to("/v1/chat/completions")]
    assert result.exit_code == 0, result.output
    run, papers = assert_every_paper_accounted_for(tmp_path)
    assert run["model_calls"] == (CALLS_PER_PAPER + 1) * len(IDS)  # one re-ask a paper: the method alone
    reasks = [b for b in bodies if "An automatic check found problems" in b["messages"][-1]["content"]]
    assert len(reasks) == len(IDS) and all("[method]" in b["messages"][-1]["content"]
                                           and "[tldr]" not in b["messages"][-1]["content"] for b in reasks)
    assert all(p["validation"]["status"] == "repaired" for p in papers.values())


# -- permanent errors: one line, exit 2, nothing written ------------------------------------------

def test_wrong_key_stops_the_run_at_the_first_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with FakeOpenAIServer(responder=pipeline_responder, api_key="sk-right") as server:
        result = run_openai(tmp_path, server, "--concurrency", "4")
        completions = server.requests_to("/v1/chat/completions")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "401 unauthorized: check OPENAI_API_KEY" in lines[0], result.stderr
    assert "Traceback" not in result.output and "sk-wrong" not in result.output
    assert len(completions) == 1
    assert not (tmp_path / "out" / "seed-digest" / "digest.json").exists()


def test_unknown_model_stops_the_run_with_one_line(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=pipeline_responder, models=["fake-model"]) as server:
        result = run_openai(tmp_path, server, "--model", "nope-7b", "--concurrency", "4")
        completions = server.requests_to("/v1/chat/completions")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"404: model 'nope-7b' not found at {server.base_url}" in lines[0], result.stderr
    assert len(completions) == 1  # requests for a model go one at a time until one is answered
    assert not (tmp_path / "out" / "seed-digest" / "digest.json").exists()
