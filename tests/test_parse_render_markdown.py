"""The canonical Markdown renderer (pipeline.output.markdown) against the parser."""

from pathlib import Path

import pytest
from support.paths import SHARED_DATA, shared
from support.requirements import missing

from pipeline.models import Digest, Paper
from pipeline.output.markdown import render_markdown
from pipeline.parse import parse_digest

HERE = Path(__file__).resolve().parent / "data" / "parse"


def test_seed_round_trip_is_byte_identical():
    source = (shared("seed-digest.md")).read_text(encoding="utf-8")
    assert render_markdown(parse_digest(shared("seed-digest.md"))) == source


def test_empty_day_renders_the_upstream_empty_template():
    path = shared("synthetic", "05-empty-day-toc-only.md")
    assert render_markdown(parse_digest(path)) == path.read_text(encoding="utf-8")


def _reparse(tmp_path: Path, text: str) -> Digest:
    out = tmp_path / "out.md"
    out.write_text(text, encoding="utf-8")
    return parse_digest(out)


@pytest.mark.parametrize("path", [
    HERE / "bold-blockquote-labels.md", HERE / "task-hard-wrapped.md", HERE / "astro-background-data.md",
    HERE / "crlf-bom.md", HERE / "variants.jsonl",
    SHARED_DATA / "real" / "ZL-Asica__daily-arXiv-digest__2025-04-26.md",
    SHARED_DATA / "real" / "sanghyun-son__daily-arXiv-ai-enhanced__2025-08-21_AI_enhanced_Korean.jsonl",
    SHARED_DATA / "synthetic" / "22-abstract-lines-that-look-like-labels.md",
])
def test_render_then_parse_keeps_every_template_field(tmp_path, path):
    if not path.exists():
        missing("shared data not available")
    original = parse_digest(path)
    again = {p.arxiv_id: p for p in _reparse(tmp_path, render_markdown(original)).papers}
    assert again.keys() == {p.arxiv_id for p in original.papers}
    for paper in original.papers:
        copy = again[paper.arxiv_id]
        assert (copy.title, copy.authors, copy.abstract, copy.fields, copy.url) == (
            paper.title, paper.authors, paper.abstract, paper.fields, paper.url)


def test_texts_replace_fields_and_none_leaves_the_line_out():
    paper = Paper(arxiv_id="2501.90001", url="https://arxiv.org/abs/2501.90001", title="T",
                  authors=["A", "B"], category="cs.CL", section="cs.CL",
                  fields={"tldr": "中文。", "motivation": "动机。", "method": None, "result": "结果。",
                          "conclusion": "结论。"},
                  abstract="Para one.\nPara two.")
    digest = Digest(path="x.md", papers=[paper], categories=["cs.CL"])
    english = {"2501.90001": {"tldr": "English TL;DR.", "motivation": "Why.\nMore why.", "result": None}}
    text = render_markdown(digest, english)
    assert text == (
        "<div id=toc></div>\n\n# Table of Contents\n\n- [cs.CL](#cs.CL) [Total: 1]\n\n\n"
        "<div id='cs.CL'></div>\n\n# cs.CL [[Back]](#toc)\n\n"
        "### [1] [T](https://arxiv.org/abs/2501.90001)\n*A,B*\n\nMain category: cs.CL\n\n"
        "TL;DR: English TL;DR.\n\n\n<details>\n  <summary>Details</summary>\n"
        "Motivation: Why.\n\nMore why.\n\n"
        "Abstract: Para one.\n  Para two.\n\n</details>\n")
    assert "中文" not in text and "结" not in text
    assert "中文" in render_markdown(digest)                       # without texts: parsed fields


def test_sections_follow_category_order_and_numbering_runs_on():
    def paper(n: int, section: str | None) -> Paper:
        return Paper(arxiv_id=f"2501.9000{n}", url=f"https://arxiv.org/abs/2501.9000{n}", title=f"P{n}",
                     section=section, category=section, fields={"tldr": f"t{n}"})
    digest = Digest(path="x.md", papers=[paper(1, "cs.LG"), paper(2, "cs.CV"), paper(3, "cs.LG"),
                                         paper(4, None)],
                    categories=["cs.CV", "cs.LG", "cs.AI"])
    text = render_markdown(digest)
    assert "- [cs.CV](#cs.CV) [Total: 1]\n- [cs.LG](#cs.LG) [Total: 2]\n- [Uncategorized]" in text
    assert "cs.AI" not in text                                     # no papers, no section
    order = [line for line in text.splitlines() if line.startswith("### ")]
    assert order == ["### [1] [P2](https://arxiv.org/abs/2501.90002)",
                     "### [2] [P1](https://arxiv.org/abs/2501.90001)",
                     "### [3] [P3](https://arxiv.org/abs/2501.90003)",
                     "### [4] [P4](https://arxiv.org/abs/2501.90004)"]
