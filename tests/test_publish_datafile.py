"""The English data file (``<date>_AI_enhanced_English.jsonl``): naming, record rules, guard, bytes.

Documents come from real runs with the fake provider (the real parse / stage / validate code);
single fields are then edited to reach the cases a fake run does not produce.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, REPO, SEED

from pipeline.app import RunOptions, execute_run
from pipeline.errors import OutputError
from pipeline.models import SUMMARY_FIELDS, ValidationIssue
from pipeline.parse import parse_digest
from pipeline.publish import datafile
from pipeline.publish.datafile import english_records, english_texts, write_english_file
from pipeline.publish.names import day_of, english_file_name

RECORDS = REPO / "tests" / "data" / "publish" / "records.jsonl"
# Independent of the module's own pattern: Han, kana, hangul, CJK punctuation, full-width forms.
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]")


FAILING_FIELDS = "providers.fake.settings.responder=support.responders:echo_some_fields"
"""One field of the test records always fails (support/responders.py)."""


def fake_run(digest: Path, tmp: Path):
    """A whole fake-provider run of ``digest`` into ``tmp``: (parsed digest, documents, out dir)."""
    result = execute_run(digest, RunOptions(config=REPO / "config.yaml", provider="fake", out_dir=tmp / "out",
                                            cache_dir=tmp / "cache", overrides=[FAILING_FIELDS]))
    return parse_digest(digest), result.documents, result.out_dir


@pytest.fixture(scope="module")
def records_run(tmp_path_factory):
    return fake_run(RECORDS, tmp_path_factory.mktemp("records"))


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    return fake_run(SEED, tmp_path_factory.mktemp("seed"))


def _input_records(path: Path) -> dict[str, dict]:
    first: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        first.setdefault(re.sub(r"v\d+$", "", record["id"]), record)
    return first


def test_file_name_rule():
    assert english_file_name("2026-06-16_AI_enhanced_Chinese.jsonl") == "2026-06-16_AI_enhanced_English.jsonl"
    assert english_file_name(Path("data/2026-06-16.md")) == "2026-06-16_AI_enhanced_English.jsonl"
    assert english_file_name("seed-digest.md") == "seed-digest_AI_enhanced_English.jsonl"
    assert english_file_name("x__2025-04-22_AI_enhanced_.jsonl") == "x__2025-04-22_AI_enhanced_English.jsonl"
    assert english_file_name("../../etc/pass wd") == "pass_wd_AI_enhanced_English.jsonl"


def test_day_rule():
    assert day_of("2026-06-16_AI_enhanced_Chinese.jsonl") == date(2026, 6, 16)
    assert day_of("data/2026-06-16_AI_enhanced_English.jsonl") == date(2026, 6, 16)
    assert day_of("2026-06-16.md") == day_of("2026-06-16.jsonl") == date(2026, 6, 16)
    assert day_of("seed-digest.md") is None and day_of("2026-02-30.md") is None
    assert day_of("2026-06-16.txt") is None and day_of("x2026-06-16.md") is None


def test_jsonl_records_keep_the_input_record_but_ai(records_run):
    digest, documents, _ = records_run
    english = english_records(digest, documents)
    inputs = _input_records(RECORDS)
    assert [r["id"] for r in english.records] == ["2501.90301", "2501.90302v2", "2501.90303"]  # repeat dropped
    for record in english.records:
        source = inputs[re.sub(r"v\d+$", "", record["id"])]
        kept = [k for k in source if k != "title_zh"]
        assert list(record) == kept  # same keys, same order
        replaced = {"AI", "abs", "pdf"} if record["id"] == "2501.90302v2" else {"AI"}  # not arXiv URLs there
        assert {k: record[k] for k in kept if k not in replaced} == {k: source[k] for k in kept if k not in replaced}
    old = english.records[1]
    assert old["abs"] == "https://arxiv.org/abs/2501.90302" and old["pdf"] == "https://arxiv.org/pdf/2501.90302"
    assert english.records[0]["title"] == "Fusing <b>Tags</b> & Tokens"  # arXiv metadata as it was
    assert english.records[1]["journal_ref"] == "Actes de la conférence TALN 2026"  # not CJK: kept as it was


def test_ai_object_fields_old_schema_and_other_keys(records_run):
    digest, documents, _ = records_run
    english = english_records(digest, documents)
    first, old, placeholders = english.records
    assert list(first["AI"]) == [*SUMMARY_FIELDS, "relevance", "score"]
    assert first["AI"]["relevance"] == "Highly relevant to NLP readers" and first["AI"]["score"] == 4
    assert list(old["AI"]) == ["task", "motivation", "method", "result", "conclusion", "tldr"]
    assert old["AI"]["task"] == old["AI"]["tldr"] != ""
    assert english.left_out == {"AI.avis": 1, "AI.keywords": 1, "AI.tags": 1, "title_zh": 1}  # avis: French
    documents_by_id = {d.arxiv_id: d for d in documents}
    generated = documents_by_id["2501.90303"].translation
    assert placeholders["AI"]["method"] == generated.method != "Error"  # written from the abstract
    for record in english.records:
        assert all(isinstance(record["AI"][name], str) for name in SUMMARY_FIELDS)
        assert not CJK.search(json.dumps(record, ensure_ascii=False))


def test_error_fields_are_empty_and_tldr_falls_back_to_the_resummary(records_run):
    digest, documents, _ = records_run
    document = next(d for d in documents if d.arxiv_id == "2501.90301")
    errors = {i.field for i in document.validation.issues if i.severity == "error"}
    assert "translation.result" in errors and document.validation.rejected["translation.result"]  # a rejected reply is kept...
    texts = english_texts(document)
    assert texts["result"] == ""  # ...but never published
    issue = ValidationIssue(field="translation.tldr", check="residual_cjk", severity="error", message="x")
    rejected_tldr = document.model_copy(update={"validation": document.validation.model_copy(
        update={"issues": [*document.validation.issues, issue]})})
    assert document.summary.tldr and english_texts(rejected_tldr)["tldr"] == document.summary.tldr


def test_escaping_cjk_and_placeholders_in_our_texts(records_run):
    digest, documents, _ = records_run
    document = next(d for d in documents if d.arxiv_id == "2501.90303")
    translation = document.translation.model_copy(update={
        "method": "Uses A<B & C>D tricks.", "motivation": "Mostly English with one 中 character.",
        "conclusion": "N/A"})
    texts = english_texts(document.model_copy(update={"translation": translation}))
    assert texts["method"] == "Uses A&lt;B &amp; C&gt;D tricks."
    assert texts["motivation"] == "" and texts["conclusion"] == ""
    assert english_texts(None) == {name: "" for name in SUMMARY_FIELDS}


def test_paper_without_document_has_empty_ai_fields(records_run):
    digest, documents, _ = records_run
    english = english_records(digest, documents[:1])
    assert english.records[2]["AI"] == {name: "" for name in SUMMARY_FIELDS}
    assert english.records[0]["AI"]["tldr"] != ""


def test_markdown_records_are_what_upstream_writes(seed_run):
    digest, documents, _ = seed_run
    english = english_records(digest, documents)
    assert len(english.records) == len(digest.papers) == 129 and english.left_out == {}
    record = english.records[1]
    assert list(record) == ["id", "categories", "pdf", "abs", "authors", "title", "comment", "summary", "AI"]
    assert record["id"] == "2601.16302" and record["categories"] == ["cs.CV"] and record["comment"] is None
    assert record["pdf"] == "https://arxiv.org/pdf/2601.16302" and record["abs"] == "https://arxiv.org/abs/2601.16302"
    assert record["title"].startswith("FeTTL: Federated Template") and record["authors"][0] == "Abhijeet Parida"
    assert record["summary"].startswith("Federated learning enables")
    assert "FeTTL" in record["AI"]["tldr"] and list(record["AI"]) == list(SUMMARY_FIELDS)


def test_written_file_is_ascii_json_lines(records_run, tmp_path):
    digest, documents, _ = records_run
    path = write_english_file(tmp_path, digest, documents)
    assert path == tmp_path / "records_AI_enhanced_English.jsonl"
    raw = path.read_bytes()
    assert raw.isascii() and raw.endswith(b"\n") and raw.count(b"\n") == 3
    lines = [json.loads(line) for line in raw.decode().splitlines()]
    assert lines == english_records(digest, documents).records
    assert b'"id": "2501.90301", "categories": ["cs.CL", "cs.AI"]' in raw  # upstream's separators


def test_guard_refuses_cjk_and_writes_nothing(records_run, tmp_path, monkeypatch):
    digest, documents, _ = records_run
    record = {"id": "1", "title": "标题 kept: the paper's own title", "AI": {"tldr": "English."}}
    datafile.check_no_cjk(record, "day.jsonl", "1")  # arXiv metadata may hold CJK
    with pytest.raises(OutputError, match=r"day.jsonl \(paper 1\): refusing to write CJK text .*'AI'"):
        datafile.check_no_cjk({**record, "AI": {"tldr": "中文"}}, "day.jsonl", "1")
    monkeypatch.setattr(datafile, "_foreign", lambda value: False)  # a broken language rule...
    with pytest.raises(OutputError, match="2501.90301"):
        write_english_file(tmp_path, digest, documents)  # ...is caught before anything is written
    assert list(tmp_path.iterdir()) == []


def test_left_out_keys_come_from_the_input_alone(records_run, seed_run):
    digest, documents, _ = records_run
    assert datafile.left_out_keys(digest) == english_records(digest, documents).left_out != {}
    assert datafile.left_out_keys(seed_run[0]) == {}


def test_a_run_stops_before_its_aggregates_when_the_guard_fires(tmp_path, monkeypatch):


    monkeypatch.setattr(datafile, "_foreign", lambda value: False)  # Chinese AI.keywords would be kept
    result = run_cli("run", str(RECORDS), "--config", CONFIG, "--provider", "fake",
                                      "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 2 and "refusing to write CJK text" in result.stderr
    out = tmp_path / "out" / "records"
    assert sorted(p.name for p in out.iterdir()) == ["papers"]  # no digest.json, run.json or English file


def test_partial_runs_keep_earlier_english_and_leave_the_rest_empty(tmp_path):


    def run(*args: str) -> list[dict]:
        result = run_cli("run", str(RECORDS), "--config", CONFIG, "--provider",
                                          "fake", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
                                          *args)
        assert result.exit_code in (0, 1), result.output
        text = (tmp_path / "out" / "records" / "records_AI_enhanced_English.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines()]

    first = run("--limit", "1")
    assert len(first) == 3 and first[0]["AI"]["tldr"] != ""
    assert first[2]["AI"] == {name: "" for name in SUMMARY_FIELDS}  # not processed: nothing invented
    second = run("--ids", "2501.90303")
    assert second[0]["AI"] == first[0]["AI"]  # carried over from the earlier run's paper file
    assert second[2]["AI"]["method"] != "" and second[1]["AI"]["tldr"] == ""
