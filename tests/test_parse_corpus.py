"""Every real and synthetic digest in shared/data: counts, MD/JSONL agreement, speed."""

import json
import re
from pathlib import Path

import pytest

from pipeline.models import SUMMARY_FIELDS
from pipeline.parse import parse_digest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not available")

# Distinct arXiv ids per file, counted by hand / grep over the headings and "id" keys.
EXPECTED = {
    "seed-digest.md": 129,
    "real/KAFKA2306__daily-arXiv-ai-enhanced__2025-03-21.md": 45,
    "real/KAFKA2306__daily-arXiv-ai-enhanced__2025-03-21_AI_enhanced_Chinese.jsonl": 45,
    "real/Straw674__daily-arXiv-astro-ph__2025-04-22.md": 33,
    "real/Straw674__daily-arXiv-astro-ph__2025-04-22_AI_enhanced_.jsonl": 33,
    "real/ZL-Asica__daily-arXiv-digest__2025-04-26.md": 55,
    "real/dw-dengwei__daily-arXiv-ai-enhanced__2026-05-21.md": 231,
    "real/dw-dengwei__daily-arXiv-ai-enhanced__2026-05-21_AI_enhanced_Chinese.jsonl": 231,
    "real/sanghyun-son__daily-arXiv-ai-enhanced__2025-08-21.md": 162,
    "real/sanghyun-son__daily-arXiv-ai-enhanced__2025-08-21_AI_enhanced_Korean.jsonl": 162,
    "real/xmkxabc__daily-arXiv-ai-enhanced__2025-06-18.md": 0,
    "real/zzhaozeng__daily-arXiv-ai-enhanced__2025-12-20.md": 72,
    "real/zzhaozeng__daily-arXiv-ai-enhanced__2025-12-20_AI_enhanced_Chinese.jsonl": 72,
    "synthetic/01-all-placeholder-fallbacks.jsonl": 4,
    "synthetic/03-missing-or-malformed-AI.jsonl": 7,
    "synthetic/05-empty-day-toc-only.md": 0,
    "synthetic/06-compliance-refusal.md": 2,
    "synthetic/15-cache-same-id-changed-abstract.day1.md": 1,
    "synthetic/15-cache-same-id-changed-abstract.day2.md": 1,
    "synthetic/16-versioned-and-mixed-url-ids.jsonl": 2,
    "synthetic/18-duplicate-paper-different-ai-text.md": 2,
    "synthetic/21-unrendered-template-placeholders.md": 2,
    "synthetic/22-abstract-lines-that-look-like-labels.md": 1,
}
_HEADING_ID = re.compile(r"^#{2,4} .*\]\(https?://arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.MULTILINE)


def test_every_input_file_is_listed():
    inputs = {str(p.relative_to(SHARED)) for p in SHARED.rglob("*") if p.suffix in (".md", ".jsonl")
              and p.relative_to(SHARED).parts[0] != "archive"}  # whole upstream days: benchmarks, backfill
    inputs.discard("README.md")
    assert inputs == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_paper_count_equals_distinct_ids(name):
    digest = parse_digest(SHARED / name)
    ids = [p.arxiv_id for p in digest.papers]
    assert len(ids) == len(set(ids)) == EXPECTED[name]
    assert digest.kind == ("jsonl" if name.endswith(".jsonl") else "markdown")
    if name.endswith(".md"):                       # independent count straight from the headings
        assert len(set(_HEADING_ID.findall((SHARED / name).read_text(encoding="utf-8")))) == len(ids)
    assert all(set(p.fields) == set(SUMMARY_FIELDS) for p in digest.papers)


@pytest.mark.parametrize("stem", [
    "KAFKA2306__daily-arXiv-ai-enhanced__2025-03-21",
    "Straw674__daily-arXiv-astro-ph__2025-04-22",
    "dw-dengwei__daily-arXiv-ai-enhanced__2026-05-21",
    "sanghyun-son__daily-arXiv-ai-enhanced__2025-08-21",
    "zzhaozeng__daily-arXiv-ai-enhanced__2025-12-20",
])
def test_markdown_and_jsonl_of_the_same_day_agree(stem):
    """Two independent renderings of the same papers must parse to the same content."""
    markdown = {p.arxiv_id: p for p in parse_digest(SHARED / "real" / f"{stem}.md").papers}
    (jsonl_path,) = (SHARED / "real").glob(f"{stem}_AI_enhanced_*.jsonl")
    jsonl = {p.arxiv_id: p for p in parse_digest(jsonl_path).papers}
    assert markdown.keys() == jsonl.keys()
    for arxiv_id, paper in markdown.items():
        other = jsonl[arxiv_id]
        assert (paper.title, paper.authors, paper.abstract, paper.fields) == (
            other.title, other.authors, other.abstract, other.fields), arxiv_id


def test_kafka_task_and_hard_wraps():
    paper = parse_digest(SHARED / "real" / "KAFKA2306__daily-arXiv-ai-enhanced__2025-03-21.md").papers[0]
    assert paper.arxiv_id == "2503.15617" and paper.index is None
    assert paper.fields["tldr"] == "提出一种基于连续值嵌入的语义分割框架，以替代传统的量化嵌入方法。"
    assert paper.abstract.startswith("Traditional transformer-based semantic segmentation relies on "
                                     "quantized embeddings. However, our analysis")
    assert "($\\approx$ 95% AP compared to baseline)" in paper.abstract
    assert paper.abstract.endswith("Code available: https://github.com/mahmed10/CAMSS.git")
    assert "\n" not in paper.abstract


def test_zl_asica_bold_english():
    digest = parse_digest(SHARED / "real" / "ZL-Asica__daily-arXiv-digest__2025-04-26.md")
    paper = digest.papers[0]
    assert (paper.arxiv_id, paper.title, paper.category) == (
        "2504.17018", "LLM impact on BLV programming", "cs.HC")
    assert paper.authors == ["Prashant Chandrasekar", "Mariel Couvillion", "Ayshwarya Saktheeswaran",
                             "Jessica Zeitz"]
    assert paper.fields["tldr"].startswith("This study analyzes the impact of Large Language Models")
    assert paper.fields["conclusion"].endswith("as generative AI continues to evolve.")
    assert paper.abstract.startswith("Large Language Models (LLMs) are rapidly becoming integral")
    assert digest.categories == ["cs.HC", "cs.CL"]


def test_astro_ph_fields():
    digest = parse_digest(SHARED / "real" / "Straw674__daily-arXiv-astro-ph__2025-04-22.md")
    paper = digest.papers[0]
    assert paper.fields["tldr"].startswith("提出了一种高效的数值算法")
    assert paper.fields["motivation"].startswith("当前研究领域需要高效的方法")  # written as Background
    assert paper.extra["Data"] == "研究使用了暗物质粒子自引力系统的数值模拟数据。"
    assert paper.fields["conclusion"] is None
    assert all(set(p.extra) == {"Data"} and p.fields["motivation"] for p in digest.papers)


def test_failed_fields_in_real_digests():
    digest = parse_digest(SHARED / "real" / "zzhaozeng__daily-arXiv-ai-enhanced__2025-12-20.md")
    failed = [p for p in digest.papers if p.source_problems]
    assert len(failed) == 42
    assert failed[0].arxiv_id == "2512.15907"
    assert failed[0].fields["method"] == "Method extraction failed"
    assert failed[0].source_problems["method"] == "failure placeholder: Method extraction failed"
    korean = parse_digest(SHARED / "real" / "sanghyun-son__daily-arXiv-ai-enhanced__2025-08-21.md")
    blank = [p for p in korean.papers if p.source_problems]
    assert [p.arxiv_id for p in blank] == ["2508.14078"]
    assert all(v.startswith("empty") for v in blank[0].source_problems.values())


def test_seed_and_real_digests_have_no_warnings():
    for name in EXPECTED:
        if (name.startswith("real/") and "xmkxabc" not in name) or name == "seed-digest.md":
            assert parse_digest(SHARED / name).warnings == [], name


def test_a_1_5_mb_digest_parses_every_paper(tmp_path):  # its speed: bench/run_bench.py
    real = sorted((SHARED / "real").glob("*.md"), key=lambda p: -p.stat().st_size)
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in [*real, SHARED / "seed-digest.md"])
    big = tmp_path / "big.md"
    big.write_text(text, encoding="utf-8")
    assert big.stat().st_size >= 1_500_000
    digest = parse_digest(big)
    assert len(digest.papers) == sum(EXPECTED[f"real/{p.name}"] for p in real) + 129


def test_jsonl_ids_match_their_records():
    path = SHARED / "real" / "dw-dengwei__daily-arXiv-ai-enhanced__2026-05-21_AI_enhanced_Chinese.jsonl"
    raw_ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert [p.arxiv_id for p in parse_digest(path).papers] == raw_ids
