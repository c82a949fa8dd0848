"""Detection of source text that is not content (pipeline.parse.problems.source_problem)."""

import pytest

from pipeline.parse.problems import source_problem


@pytest.mark.parametrize("text, kind", [
    (None, "missing"),
    ("", "empty"),
    ("   \n ", "empty"),
    ("Summary generation failed", "failure placeholder"),        # real: dw-dengwei, zzhaozeng
    ("Motivation analysis unavailable", "failure placeholder"),
    ("Method extraction failed", "failure placeholder"),
    ("Result analysis unavailable", "failure placeholder"),
    ("Conclusion extraction failed", "failure placeholder"),
    ("Processing failed", "failure placeholder"),                # synthetic 01
    ("Translation failed.", "failure placeholder"),
    ("API error", "failure placeholder"),
    ("Error", "failure placeholder"),                            # synthetic 01, real Straw674
    ("Error: rate limit exceeded", "failure placeholder"),
    ("N/A", "failure placeholder"),                              # synthetic 21
    ("n/a.", "failure placeholder"),
    ("...", "failure placeholder"),
    ("—", "failure placeholder"),
    ("Not mentioned in abstract", "failure placeholder"),        # synthetic 21
    ("错误：AI分析失败。", "failure placeholder"),                  # synthetic 21 title translation
    ("生成失败", "failure placeholder"),
    ("This content has not passed the compliance test and has been hidden.", "refusal text"),  # 06
    ("该内容未通过合规检测，已被隐藏。", "refusal text"),             # synthetic 06
    ("I'm sorry, but I can't help with that request.", "refusal text"),
    ("As an AI language model, I cannot summarize this.", "refusal text"),
    ("{tldr}", "unfilled template"),                              # synthetic 21
    ("{ai_summary}", "unfilled template"),
    ("{{ motivation }}", "unfilled template"),
    ("${result}", "unfilled template"),
])
def test_problem_kinds(text, kind):
    reason = source_problem(text)
    assert reason is not None and reason.split(":")[0] == kind


def test_reason_quotes_the_text_on_one_line():
    assert source_problem("Summary generation failed") == "failure placeholder: Summary generation failed"
    assert source_problem("{tldr}") == "unfilled template: {tldr}"
    long_refusal = "I'm sorry, " + "x" * 200
    assert len(source_problem(long_refusal)) < 120


@pytest.mark.parametrize("text", [
    "提出一种用于大规模房间尺度环境三维重建的重新照明方法。",
    "研究内容审核系统的公平性。",              # about content moderation: not a refusal (06, paper 2)
    "该方法降低了错误率。",                    # mentions errors, is content
    "We study error bounds for $\\frac{a}{b}$ and why training failed to converge in prior work.",
    "Error analysis of LLM judges shows a 12% gap.",
    "The method failed.",                   # a (short) statement about the paper, not a placeholder
    "Gradient descent error",
    "Uses $\\mathcal{O}(n)$ memory with {a, b} sets.",
    "RynnEC는 비전-언어 기반의 컴팩트한 비디오 멀티모달 LLM이다.",
    "m",
    "ok",
])
def test_content_is_not_a_problem(text):
    assert source_problem(text) is None
