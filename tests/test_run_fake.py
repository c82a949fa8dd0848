"""End to end through the CLI with the fake provider: the real parse/stage/validate/write code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.paths import CONFIG, SEED, shared
from support.cli import fake_options, run_cli
from support.eval_config import PER_FIELD

from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import template_responder

CJK = re.compile(r"[\u3400-\u9fff]")



def test_full_sample_run_then_warm_rerun(tmp_path: Path) -> None:
    first = run_cli("run", SEED, *fake_options(tmp_path))
    assert first.exit_code == 0, first.output
    out = tmp_path / "out" / "seed-digest"
    papers = sorted((out / "papers").glob("*.json"))
    assert len(papers) == 129
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for key in ("papers", "status_counts", "model_calls", "cache_hits", "prompt_tokens", "completion_tokens", "wall_seconds"):
        assert key in run
    assert run["papers"] == 129 and run["model_calls"] == 2 * 129 and run["cache_hits"] == 0  # fields, TL;DR
    assert run["status_counts"]["failed"] == 0
    digest = json.loads((out / "digest.json").read_text(encoding="utf-8"))
    assert [p["arxiv_id"] for p in digest["papers"]][:2] == ["2601.16272", "2601.16302"]
    doc = json.loads((out / "papers" / "2601.16302.json").read_text(encoding="utf-8"))
    assert doc["source"]["tldr"]["language"] == "zh"
    assert "FeTTL" in doc["translation"]["tldr"] and not CJK.search(doc["translation"]["method"])
    assert doc["provenance"]["stages"]["translate"]["prompt"] == "translate-fields-chat"
    assert len(doc["provenance"]["stages"]["translate"]["prompt_hash"]) == 64
    english_md = (out / "digest.en.md").read_text(encoding="utf-8")
    assert english_md.count("### [") == 129 and not CJK.search(english_md.split("Abstract:")[0])

    second = run_cli("run", SEED, *fake_options(tmp_path))
    assert second.exit_code == 0, second.output
    rerun = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert rerun["model_calls"] == 0 and rerun["cache_hits"] == run["model_calls"]


def _echo_chinese(request: LLMRequest) -> str:
    """A small model's classic failure: the Chinese source echoed back, for one field of one paper."""
    from support.responders import with_fields

    return with_fields(request, lambda paper, field, source: source if (paper, field) == ("2601.16302", "tldr")
                       else None)


@pytest.mark.parametrize("per_field", [False, True], ids=["one-call-a-paper", "one-call-a-field"])
def test_echoed_chinese_is_reasked_then_reported_failed(tmp_path: Path, fake_provider, per_field: bool) -> None:
    echo = fake_provider(_echo_chinese)  # registered with the fake provider's default stages
    result = run_cli("run", SEED, *fake_options(tmp_path), "--provider", echo, "--ids", "2601.16272,2601.16302",
                     *(PER_FIELD if per_field else ()))
    assert result.exit_code == 1, result.output
    doc = json.loads((tmp_path / "out" / "seed-digest" / "papers" / "2601.16302.json").read_text(encoding="utf-8"))
    assert doc["validation"]["status"] == "failed"
    assert doc["validation"]["attempts"]["translation.tldr"] == 2
    checks = {(i["field"], i["check"]) for i in doc["validation"]["issues"]}
    assert ("translation.tldr", "residual_cjk") in checks
    other = json.loads((tmp_path / "out" / "seed-digest" / "papers" / "2601.16272.json").read_text(encoding="utf-8"))
    assert other["validation"]["status"] == "ok"


def test_missing_digest_is_one_line_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    result = run_cli("run", str(tmp_path / "nope.md"), "--config", CONFIG,
                                 "--provider", "fake", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "nope.md" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_bad_config_value_is_exit_2_before_any_call(tmp_path: Path) -> None:
    result = run_cli("run", SEED, *fake_options(tmp_path), "--set", "validation.max_repairs=-1")
    assert result.exit_code == 2
    assert "max_repairs" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_id_is_exit_2(tmp_path: Path) -> None:
    result = run_cli("run", SEED, *fake_options(tmp_path), "--ids", "2601.99999")
    assert result.exit_code == 2 and "2601.99999" in result.stderr


def test_limit_run_lists_every_paper_and_counts_only_the_processed(tmp_path: Path) -> None:
    result = run_cli("run", SEED, *fake_options(tmp_path), "--limit", "2")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "seed-digest"
    digest = json.loads((out / "digest.json").read_text(encoding="utf-8"))
    assert len(digest["papers"]) == 129 and len(list((out / "papers").glob("*.json"))) == 2
    left_out = digest["papers"][2:]
    assert {p["validation"]["status"] for p in left_out} == {"skipped"}
    issue = left_out[0]["validation"]["issues"][0]
    assert issue["check"] == "not_selected" and "--limit 2" in issue["message"]
    assert left_out[0]["translation"]["tldr"] is None  # nothing invented for it
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["papers"] == 2 and run["not_selected"] == 127 and run["carried_over"] == 0
    assert run["status_counts"] == {"ok": 2, "repaired": 0, "failed": 0}
    assert "not selected" in result.stderr


def test_ids_run_after_a_full_run_keeps_the_other_papers_in_the_aggregates(tmp_path: Path) -> None:
    assert run_cli("run", SEED, *fake_options(tmp_path)).exit_code == 0
    out = tmp_path / "out" / "seed-digest"
    before = json.loads((out / "digest.json").read_text(encoding="utf-8"))
    again = run_cli("run", SEED, *fake_options(tmp_path), "--ids", "2601.16302")
    assert again.exit_code == 0, again.output
    after = json.loads((out / "digest.json").read_text(encoding="utf-8"))
    assert [p["arxiv_id"] for p in after["papers"]] == [p["arxiv_id"] for p in before["papers"]]
    changed = [b["arxiv_id"] for b, a in zip(before["papers"], after["papers"]) if a != b]
    assert changed == ["2601.16302"]  # a new run id; every other entry is the earlier run's, as it was
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["papers"] == 129 and run["carried_over"] == 128 and run["not_selected"] == 0
    assert (out / "digest.en.md").read_text(encoding="utf-8").count("### [") == 129


def test_a_record_that_is_not_a_paper_is_reported_and_the_run_exits_1(tmp_path: Path) -> None:
    real = shared("real", "dw-dengwei__daily-arXiv-ai-enhanced__2026-05-21_AI_enhanced_Chinese.jsonl")
    lines = real.read_text(encoding="utf-8").splitlines()[:2]
    bad = json.loads(lines[0]) | {"id": "not-an-id"}
    digest = tmp_path / "day.jsonl"
    digest.write_text("\n".join([lines[0], json.dumps(bad, ensure_ascii=False), lines[1]]) + "\n", encoding="utf-8")
    result = run_cli("run", str(digest), "--config", CONFIG, "--provider", "fake",
                                 "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 1, result.output
    assert "line 2: record skipped: not an arXiv identifier: 'not-an-id'" in result.stderr
    assert "error: day.jsonl: 1 record(s) could not be read as a paper" in result.stderr
    run = json.loads((tmp_path / "out" / "day" / "run.json").read_text(encoding="utf-8"))
    assert run["records_skipped"] == 1 and run["status_counts"]["ok"] + run["status_counts"]["repaired"] == 2


def test_an_unreadable_earlier_paper_file_is_named_and_the_run_exits_1(tmp_path: Path) -> None:
    assert run_cli("run", SEED, *fake_options(tmp_path), "--limit", "3").exit_code == 0
    out = tmp_path / "out" / "seed-digest"
    (out / "papers" / "2601.16272.json").write_text("{bad", encoding="utf-8")
    again = run_cli("run", SEED, *fake_options(tmp_path), "--ids", "2601.16302")
    assert again.exit_code == 1, again.output
    assert "2601.16272.json: not valid JSON" in again.stderr
    entry = json.loads((out / "digest.json").read_text(encoding="utf-8"))["papers"][0]
    assert entry["validation"]["status"] == "skipped"
    assert "unreadable" in entry["validation"]["issues"][0]["message"]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["outputs_unreadable"] == 1 and run["carried_over"] == 1  # 2601.16333 from the --limit run


def test_ids_option_is_repeatable(tmp_path: Path) -> None:
    result = run_cli("run", SEED, *fake_options(tmp_path), "--ids", "2601.16302", "--ids", "2601.16428,arXiv:2601.16302v2", "--json")
    assert result.exit_code == 0, result.output
    processed = sorted(p.stem for p in (tmp_path / "out" / "seed-digest" / "papers").glob("*.json"))
    assert processed == ["2601.16302", "2601.16428"]


def test_a_dead_endpoint_is_explained_in_the_summary(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    result = run_cli("run", SEED, "--config", CONFIG,
                                 "--provider", "openai", "--base-url", "http://127.0.0.1:9/v1", "--limit", "1",
                                 "--set", "retry.max_attempts=1", "--out", str(tmp_path / "out"),
                                 "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 1, result.output
    assert "failed because the provider did not answer, e.g.: provider openai: connection to " \
           "http://127.0.0.1:9/v1 failed" in result.stderr


def test_an_unknown_local_model_stops_the_run_before_any_call(tmp_path: Path) -> None:
    result = run_cli("run", SEED, "--config", CONFIG,
                                 "--set", "stages.resummarize.model=nosuchmodel", "--limit", "1",
                                 "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 2, result.output
    assert "nosuchmodel" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def _every_answer_fails(request: LLMRequest) -> str:
    """Replies that fail every check: the Chinese sources back, and an invented-figure TL;DR."""
    if request.output_fields is not None:
        return json.dumps({f["name"]: f["source"] for f in request.variables["fields"]}, ensure_ascii=False)
    return "Sure! It improves everything by 99.9% on every benchmark we could find."


def test_calls_per_paper_two_on_the_happy_path_four_when_every_answer_fails(tmp_path: Path, fake_provider) -> None:
    bad = fake_provider(_every_answer_fails)
    result = run_cli("run", SEED, *fake_options(tmp_path), "--provider", bad, "--limit", "10", "--json")
    assert result.exit_code == 1, result.output
    run = json.loads(result.stdout)
    assert run["status_counts"]["failed"] == 10
    assert run["model_calls"] == 4 * 10  # the fields, their one re-ask; the TL;DR, its one re-ask
    assert run["usage_per_stage"]["translate"]["calls"] == run["usage_per_stage"]["resummarize"]["calls"] == 20
