"""Markdown digests: template variants, field mapping, abstracts, truncation, duplicates."""

from pathlib import Path

import pytest
from support.paths import SHARED_DATA, shared
from support.requirements import missing

from pipeline.models import SUMMARY_FIELDS
from pipeline.parse import parse_digest

HERE = Path(__file__).resolve().parent / "data" / "parse"


def _messages(digest):
    return [w.message for w in digest.warnings]


# --------------------------------------------------------------------------- the seed template


@pytest.fixture(scope="module")
def seed():
    return parse_digest(shared("seed-digest.md"))


def test_seed_paper_1_field_by_field(seed):
    paper = seed.papers[0]
    assert (paper.arxiv_id, paper.index, paper.line) == ("2601.16272", 1, 15)
    assert paper.url == "https://arxiv.org/abs/2601.16272"
    assert paper.title == "GR3EN: Generative Relighting for 3D Environments"
    assert paper.authors == ["Xiaoyan Xing", "Philipp Henzler", "Junhwa Hur", "Runze Li",
                             "Jonathan T. Barron", "Pratul P. Srinivasan", "Dor Verbin"]
    assert (paper.category, paper.section) == ("cs.CV", "cs.CV")
    assert paper.fields["tldr"] == ("提出一种用于大规模房间尺度环境三维重建的重新照明方法，通过将视频到视频"
                                    "重新照明扩散模型的输出蒸馏到三维重建中，避免了困难的逆渲染问题")
    assert paper.fields["motivation"].startswith("现有三维场景重新照明方法需要解决欠定或病态的逆渲染问题")
    assert paper.fields["motivation"].endswith("要么局限于单个物体的3D重新照明。")
    assert paper.fields["method"] == ("通过将视频到视频重新照明扩散模型的输出蒸馏到三维重建中，避免了直接解决"
                                      "困难的逆渲染问题。该方法实现了房间尺度场景的可控3D重新照明。")
    assert paper.fields["result"].startswith("在合成和真实世界数据集上验证了该方法")
    assert paper.fields["conclusion"].endswith("为复杂真实世界场景的重新照明提供了灵活解决方案。")
    assert paper.abstract.startswith("We present a method for relighting 3D reconstructions of large "
                                     "room-scale environments. Existing solutions")
    assert paper.abstract.endswith("render novel views of scenes under new lighting conditions.")
    assert "\n" not in paper.abstract
    assert paper.extra == {} and paper.source_problems == {}


def test_seed_sections_order_and_numbering(seed):
    assert seed.kind == "markdown"
    assert seed.categories == ["cs.CV", "cs.CL", "cs.AI", "cs.LG"]
    assert [p.index for p in seed.papers] == list(range(1, 130))
    assert [sum(p.section == c for p in seed.papers) for c in seed.categories] == [36, 46, 10, 37]
    assert seed.warnings == []


def test_seed_multi_paragraph_abstracts(seed):
    multi = {p.arxiv_id: p.abstract.split("\n") for p in seed.papers if "\n" in p.abstract}
    assert sorted(multi) == ["2601.16411", "2601.16531", "2601.16713", "2601.16834", "2601.16849",
                             "2601.16907"]
    paras = multi["2601.16531"]
    assert len(paras) == 3
    assert paras[0].startswith("We investigate whether high-frequency key collisions")
    assert paras[1].startswith("Through route-stratified evaluation (decomposing per-token loss")
    assert paras[2].startswith("Our findings suggest that improving lookup precision alone")
    assert all(p == p.strip() for p in paras)                       # indentation removed
    assert multi["2601.16713"][1].startswith("We also show that our CRNN achieves")


def test_seed_latex_is_verbatim(seed):
    by_id = {p.arxiv_id: p for p in seed.papers}
    assert ("we propose \\textbf{\\model}, a novel RES framework integrating \\textbf{E}ntropy-"
            "\\textbf{B}ased Point \\textbf{D}iscovery") in by_id["2601.16394"].abstract
    latex = [p for p in seed.papers if "$" in p.abstract or "\\" in p.abstract]
    assert len(latex) == 20
    assert all(p.abstract.count("$") % 2 == 0 for p in latex)


# --------------------------------------------------------------------------- fork variants


def test_bold_and_blockquoted_labels():
    digest = parse_digest(HERE / "bold-blockquote-labels.md")
    first, second = digest.papers
    assert first.fields == {"tldr": "Bold labels inside a blockquote.",
                            "motivation": "Colon outside the bold.",
                            "method": "Blockquoted bold label, continued on a second quoted line.",
                            "result": "Full-width colon.", "conclusion": "Works."}
    assert first.abstract == "We test bold labels. Method: this is abstract text."
    assert first.authors == ["Author A", "Author B"]
    assert first.category == "cs.HC"
    assert first.extra == {"title_translation": "一篇粗体标签论文", "Keywords": "标签, 格式",
                           "Comment": "9 pages, 2 figures", "AI_Comments": "",
                           "摘要翻译": "我们测试粗体标签。"}
    assert second.arxiv_id == "2501.90202" and second.url.endswith("2501.90202v2")
    assert second.authors == ["Author C", "Author D"]              # Python-list authors
    assert second.category == "cs.HC"                              # from "| **Main category: x**"
    assert second.fields["tldr"] == "One span." and second.abstract == "Second abstract."


def test_task_field_and_hard_wrapped_abstract():
    first, second = parse_digest(HERE / "task-hard-wrapped.md").papers
    assert first.index is None and first.section is None and first.category is None
    assert first.title == "A Task-Field Paper With $\\alpha$-Wrapped Abstract"
    assert first.fields["tldr"] == "提出一种新方法。"                 # Task: -> tldr
    assert first.fields["motivation"] == "现有方法不足。"              # before <details>
    assert first.abstract == (
        "We present a method whose abstract is hard-wrapped at eighty columns by arXiv, with LaTeX "
        "such as $\\mathcal{O}(n^2)$ and $\\frac{a}{b}$ kept verbatim.\n"
        "A second paragraph starts with two spaces of indentation and continues here. "
        "Results: this line looks like a label but is abstract text.")
    assert second.fields["tldr"] == "真正的TL;DR。"                  # a real TL;DR wins over Task
    assert second.extra == {"Task": "任务描述。"}


def test_astro_background_is_the_motivation_and_data_goes_to_extra():
    (paper,) = parse_digest(HERE / "astro-background-data.md").papers
    assert paper.fields == {"tldr": "星系研究。", "motivation": "背景介绍。", "method": "建模。",
                            "result": "质量为$10^{10} M_\\odot$。", "conclusion": None}
    assert paper.extra == {"Data": "使用ALMA数据。"}
    assert paper.category == "astro-ph.GA"                         # no Main category line: the section
    assert paper.source_problems["conclusion"].startswith("missing")
    assert paper.source_problems["conclusion"].startswith("missing")
    assert set(paper.source_problems) == {"conclusion"}


def test_crlf_and_bom():
    (paper,) = parse_digest(HERE / "crlf-bom.md").papers
    assert paper.arxiv_id == "2501.90241" and paper.line == 12
    assert paper.fields["tldr"] == "Windows 行尾。"
    assert paper.abstract == "First line wrapped.\nSecond paragraph."
    assert all("\r" not in (v or "") for v in paper.fields.values())


def test_utf16_with_bom_reads_like_utf8():
    assert parse_digest(HERE / "utf16.md").papers == parse_digest(HERE / "crlf-bom.md").papers


# --------------------------------------------------------------------------- synthetic faults


def test_abstract_lines_that_look_like_labels_stay_in_the_abstract():
    (paper,) = parse_digest(shared("synthetic", "22-abstract-lines-that-look-like-labels.md")).papers
    assert paper.fields["method"] == "问卷调查加模型对比。"
    assert paper.fields["tldr"].startswith("比较外科医生与计算机视觉模型")
    assert paper.abstract == (
        "Purpose: Surgical phase recognition (SPR) is studied for experts and for computer vision "
        "models. Method: Surgeons of varying expertise labelled video frames; three models were "
        "trained on the same frames. Result: Experts outperformed novices; models were comparable "
        "to experts. TL;DR: this line is part of the author-written abstract, not an AI field. "
        "Conclusion: SPR is an inherently complex task for expert surgeons and computer vision "
        "alike; temporal context helps both.\n"
        "Main category: this indented line is also abstract text.")
    assert paper.category == "eess.IV"


def test_refusal_text_is_kept_and_marked():
    first, second = parse_digest(shared("synthetic", "06-compliance-refusal.md")).papers
    refusal = "This content has not passed the compliance test and has been hidden."
    assert first.fields == dict.fromkeys(SUMMARY_FIELDS, refusal)
    assert all(first.source_problems[f].startswith("refusal text") for f in SUMMARY_FIELDS)
    assert set(second.source_problems) == {"tldr", "method"}
    assert second.fields["motivation"] == "研究内容审核系统的公平性。"


def test_unfilled_templates_and_na():
    digest = parse_digest(shared("synthetic", "21-unrendered-template-placeholders.md"))
    first, second = digest.papers
    assert first.url == "https://arxiv.org/abs/2501.90091v1" and first.arxiv_id == "2501.90091"
    assert first.fields["tldr"] == "{tldr}"
    assert first.source_problems["tldr"] == "unfilled template: {tldr}"
    assert first.category == "cs.LG"                               # "{cate}" replaced by the section
    assert first.extra["Comment"] == "Accepted at a conference, 12 pages with appendix"
    assert first.extra["ai_Abstract"] == "{ai_summary}" and first.extra["摘要翻译"] == "{translation}"
    assert first.extra["title_translation"] == "一篇合成的自动机学习论文"
    assert first.authors == ["Author A", "Author B"]
    assert second.fields["result"] == "Not mentioned in abstract"
    assert second.source_problems["tldr"] == "failure placeholder: N/A"
    assert second.category == "cs.CL"
    assert any("'{cate}' is a placeholder" in m for m in _messages(digest))
    assert sum("no Abstract field" in m for m in _messages(digest)) == 2


def test_duplicates_keep_the_first_and_warn_with_lines():
    digest = parse_digest(shared("synthetic", "18-duplicate-paper-different-ai-text.md"))
    assert [(p.arxiv_id, p.index) for p in digest.papers] == [("2501.90041", 1), ("2501.90042", 2)]
    assert digest.papers[0].fields["tldr"].startswith("结合姿态回归与粒子滤波")
    dups = [w for w in digest.warnings if "duplicate" in w.message]
    assert [(w.line, w.paper_id) for w in dups] == [(58, "2501.90041"), (81, "2501.90042")]
    assert "line 12" in dups[0].message and "different text" in dups[0].message


def test_duplicate_across_sections_and_versions():
    digest = parse_digest(HERE / "duplicates.md")
    assert [p.arxiv_id for p in digest.papers] == ["2501.90251", "2501.90252"]
    assert digest.papers[0].fields["tldr"] == "第一份。"
    (warning,) = digest.warnings
    assert (warning.line, warning.paper_id) == (47, "2501.90251") and "line 13" in warning.message
    assert digest.categories == ["cs.CV", "cs.AI"]


# --------------------------------------------------------------------------- empty and truncated


@pytest.mark.parametrize("path", [
    HERE / "no-new-papers.md",
    SHARED_DATA / "synthetic" / "05-empty-day-toc-only.md",
    SHARED_DATA / "real" / "xmkxabc__daily-arXiv-ai-enhanced__2025-06-18.md",
])
def test_empty_day_is_a_valid_empty_digest(path):
    if not path.exists():
        missing("shared data not available")
    digest = parse_digest(path)
    assert digest.papers == []
    assert any("empty" in m for m in _messages(digest))


def test_truncated_inside_an_abstract():
    digest = parse_digest(HERE / "truncated-mid-abstract.md")
    complete, cut = digest.papers
    assert complete.source_problems == {} and complete.abstract == "A complete abstract."
    assert cut.abstract == "The writer was killed in the middle of this sen"
    assert cut.source_problems == {
        "abstract": "truncated: the file ends in or right after this field (line 53)"}
    cut_warning = next(w for w in digest.warnings if "cut off" in w.message)
    assert (cut_warning.line, cut_warning.paper_id) == (53, "2501.90232")
    assert "table of contents lists 3 papers, the file has 2 paper entries" in _messages(digest)


def test_truncated_heading_is_skipped_with_its_line():
    digest = parse_digest(HERE / "truncated-heading.md")
    assert [p.arxiv_id for p in digest.papers] == ["2501.90231", "2501.90232"]
    assert digest.papers[1].source_problems == {}
    assert digest.papers[1].abstract == "An abstract that is whole."
    heading = next(w for w in digest.warnings if "heading" in w.message)
    assert heading.line == 58 and "truncated" in heading.message


def test_authors_label_plain_extra_label_and_one_line_details_tag():
    digest = parse_digest(HERE / "authors-label-one-line-details.md")
    (paper,) = digest.papers
    assert paper.authors == ["Author A", "Author B"]
    assert paper.fields["tldr"] == "One-line details tag."
    assert paper.fields["motivation"] == "动机。"                    # after "<details><summary>..."
    assert paper.abstract == "Abstract text."                      # "</details>" ends it
    assert paper.extra == {"Relevance": "8/10"}
    assert digest.warnings == []


def test_headings_that_are_not_arxiv_papers_are_skipped_with_warnings():
    digest = parse_digest(HERE / "odd-headings.md")
    (paper,) = digest.papers
    assert (paper.arxiv_id, paper.index, paper.fields["tldr"]) == ("2501.90291", 3, "好论文。")
    assert paper.extra == {"unlabelled": "Stray text before any label."}
    found = [(w.line, w.message) for w in digest.warnings]
    assert found == [
        (12, "paper skipped: not an arXiv abs/pdf URL: 'https://example.com/papers/1'"),
        (18, "paper heading not a '[Title](arXiv URL)' heading; skipped"),
        (27, "unlabelled text kept in extra['unlabelled']"),
        (None, "table of contents lists 3 papers, the file has 1 paper entries"),
    ]


def test_a_heading_with_an_empty_title_keeps_the_paper_and_warns(tmp_path):
    text = (HERE / "astro-background-data.md").read_text(encoding="utf-8")
    heading = next(line for line in text.splitlines() if line.startswith("###") and "](" in line)
    url = heading[heading.rindex("](") + 2:-1]
    empty = tmp_path / "empty-title.md"
    empty.write_text(text.replace(heading, f"### [2] []({url})"), encoding="utf-8")
    (paper,) = parse_digest(empty).papers
    assert paper.title == "" and paper.index == 2
    assert any("no title" in w.message for w in parse_digest(empty).warnings)
