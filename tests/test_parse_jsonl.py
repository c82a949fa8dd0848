"""JSONL data files: record mapping, AI variants, broken lines, ids written several ways."""

from pathlib import Path

import pytest
from support.paths import shared

from pipeline.models import SUMMARY_FIELDS
from pipeline.parse import parse_digest

HERE = Path(__file__).resolve().parent / "data" / "parse"


def _warnings(digest):
    return [(w.line, w.paper_id, w.message) for w in digest.warnings]


def test_record_mapping_and_extra_keys():
    digest = parse_digest(HERE / "variants.jsonl")
    assert digest.kind == "jsonl"
    paper = digest.papers[0]
    assert (paper.arxiv_id, paper.line, paper.index) == ("2501.90261", 1, None)
    assert paper.title == "A JSONL Paper With A Wrapped Title"
    assert paper.url == "https://arxiv.org/abs/2501.90261"
    assert paper.authors == ["Author A", "Author B"]
    assert (paper.category, paper.section) == ("cs.CL", "cs.CL")
    assert paper.abstract == ("First line of the abstract wrapped by arXiv with $\\alpha=0.5$.\n"
                              "Second paragraph.")
    assert paper.fields == {"tldr": "一句话。", "motivation": "动机。", "method": "方法。",
                            "result": "结果。", "conclusion": "结论。"}
    assert paper.extra == {"relevance": "Must", "keywords": "a, b", "categories": "cs.CL, cs.AI",
                           "comment": "8 pages, 3 figures", "code_url": "https://github.com/x/y",
                           "code_stars": "12"}


def test_task_key_string_authors_and_placeholders():
    paper = {p.arxiv_id: p for p in parse_digest(HERE / "variants.jsonl").papers}["2501.90262"]
    assert paper.url == "https://arxiv.org/abs/2501.90262v3"           # built from the id, version kept
    assert paper.authors == ["Author C", "Author D"]
    assert paper.category == "cs.LG"                                # "['cs.LG']" as a string
    assert paper.fields["tldr"] == "任务。"
    assert paper.fields["motivation"] == "Processing failed"
    assert paper.fields["method"] is None and paper.fields["result"] is None
    assert paper.source_problems == {"motivation": "failure placeholder: Processing failed",
                                     "method": "empty: the source field is blank",
                                     "result": "missing: the source has no such field",
                                     "conclusion": "missing: the source has no such field"}


def test_broken_lines_are_reported_and_salvaged():
    digest = parse_digest(HERE / "variants.jsonl")
    assert [p.arxiv_id for p in digest.papers] == ["2501.90261", "2501.90263", "2501.90262"]
    broken = digest.papers[1]
    assert (broken.title, broken.authors, broken.abstract, broken.line) == (
        "Broken Middle Line", ["Author E"], "kept", 2)
    assert broken.fields == dict.fromkeys(SUMMARY_FIELDS)
    assert all(broken.source_problems[f].startswith("missing") for f in SUMMARY_FIELDS)
    lines = {line: message for line, _, message in _warnings(digest)}
    assert "not valid JSON" in lines[2] and "kept id and title" in lines[2]
    assert "JSON list" in lines[3]
    assert "not an arXiv identifier" in lines[5]
    assert "no title" in lines[6]
    assert "duplicate of the paper at line 1" in lines[7]


def test_truncated_last_line():
    digest = parse_digest(HERE / "truncated.jsonl")
    whole, cut = digest.papers
    assert whole.fields["tldr"] == "完整。" and whole.source_problems == {}
    assert (cut.arxiv_id, cut.title, cut.authors, cut.category) == (
        "2501.90272", "Cut", ["Author B"], "cs.CV")
    assert cut.abstract == ""                                       # the summary string was cut
    assert _warnings(digest) == [
        (2, "2501.90272", "record cut off (file is truncated); kept id and title, no AI fields")]


def test_kind_comes_from_content_not_suffix():
    digest = parse_digest(HERE / "jsonl-content.md")
    assert digest.kind == "jsonl" and [p.arxiv_id for p in digest.papers] == ["2501.90271"]


def test_synthetic_placeholder_families():
    papers = parse_digest(shared("synthetic", "01-all-placeholder-fallbacks.jsonl")).papers
    assert [p.arxiv_id for p in papers] == ["2501.90001", "2501.90002", "2501.90003", "2501.90004"]
    assert papers[0].source_problems["tldr"] == "failure placeholder: Summary generation failed"
    assert papers[0].fields["tldr"] == "Summary generation failed"
    assert all(set(p.source_problems) == set(SUMMARY_FIELDS) for p in papers[:3])
    partial = papers[3]
    assert set(partial.source_problems) == {"motivation", "result", "conclusion"}
    assert partial.fields["tldr"] == "提出一个包含1000个任务的工具使用智能体基准，最佳模型仅解决41%。"
    assert partial.authors == ["Author F"] and partial.category == "cs.LG"


def test_synthetic_missing_or_malformed_ai():
    digest = parse_digest(shared("synthetic", "03-missing-or-malformed-AI.jsonl"))
    papers = {p.arxiv_id: p for p in digest.papers}
    assert list(papers) == [f"2501.9001{i}" for i in range(1, 8)]
    assert papers["2501.90011"].fields == dict.fromkeys(SUMMARY_FIELDS)
    assert papers["2501.90011"].source_problems["tldr"] == "missing: the record has no 'AI' key"
    assert papers["2501.90012"].source_problems["tldr"].startswith("missing: the record has 'AI': null")
    assert papers["2501.90013"].fields["tldr"] is None and papers["2501.90013"].fields["result"] == "结果。"
    odd = papers["2501.90014"]
    assert odd.fields["result"] == "结果一\n结果二"
    assert odd.fields["conclusion"] is None
    assert odd.source_problems["conclusion"] == "not text: the source value is a JSON int"
    assert odd.source_problems["motivation"].startswith("empty")
    assert odd.extra["keywords"] == "a, b" and odd.extra["importance_score"] == "4"
    assert papers["2501.90015"].fields["tldr"] == "提出一种方法。"   # task -> tldr
    assert papers["2501.90016"].line == 7                           # a blank line 6 is skipped
    assert papers["2501.90017"].title == "Truncated Final Line"
    lines = [line for line, _, _ in _warnings(digest)]
    assert lines == [1, 2, 4, 4, 8]


def test_synthetic_ids_written_three_ways():
    digest = parse_digest(shared("synthetic", "16-versioned-and-mixed-url-ids.jsonl"))
    assert [p.arxiv_id for p in digest.papers] == ["2501.90061", "hep-th/9901001"]
    assert digest.papers[0].fields["tldr"] == "版本一。"             # the first copy is kept
    assert digest.papers[1].url == "https://arxiv.org/abs/hep-th/9901001"
    assert [(line, pid) for line, pid, _ in _warnings(digest)] == [(2, "2501.90061"), (3, "2501.90061")]
