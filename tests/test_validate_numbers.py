"""pipeline.validate.numbers: figures in Chinese and English text, canonicalised so that a figure
and its translation compare equal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.validate.numbers import (
    approx_matches,
    extract_number_tokens,
    extract_numbers,
    parse_cjk_int,
    token_matches,
)


@pytest.mark.parametrize(
    ("source", "translation", "canonical"),
    [
        ("1.72倍推理加速", "a 1.72x inference speedup", "1.72x"),
        ("1.72倍推理加速", "1.72 times faster inference", "1.72x"),
        ("1.72倍推理加速", "a 1.72-fold inference speedup", "1.72x"),
        ("1.72倍推理加速", "a 1.72× speedup", "1.72x"),
        ("准确率达到百分之九十", "accuracy reaches 90%", "90%"),
        ("准确率达到90%", "accuracy reaches 90 percent", "90%"),
        ("准确率达到90%", "accuracy reaches ninety per cent", "90%"),
        ("（p值<0.002）", "(p < 0.002)", "0.002"),
        ("3万名参与者", "30,000 participants", "30000"),
        ("3万名参与者", "30k participants", "30000"),
        ("3万名参与者", "30 thousand participants", "30000"),
        ("２４．６万篇文章", "246,000 articles", "246000"),
        ("１．７２倍，９０％", "1.72x and 90%", "90%"),
        ("160万个三元组", "1.6 million triplets", "1600000"),
        ("70亿参数", "7B parameters", "7000000000"),
        ("提升15.3个百分点", "up by 15.3 percentage points", "15.3pp"),
        ("两个数据集", "two datasets", "2"),
        ("十二种语言", "twelve languages", "12"),
        ("速度提升2倍", "doubles the speed", "2x"),
        ("比例为3：1", "a 3:1 ratio", "3:1"),
        ("三分之一的样本", "one third of the samples", "1/3"),
        ("15,000行", "15,000 lines", "15000"),
        ("2022年2月", "February 2022", "2"),
        ("二十一个任务", "twenty-one tasks", "21"),
    ],
)
def test_source_figure_is_matched_by_standard_english_forms(source: str, translation: str,
                                                            canonical: str) -> None:
    wanted = [t for t in extract_number_tokens(source) if t.canonical == canonical]
    assert wanted, f"{canonical} not extracted from {source!r}: {extract_number_tokens(source)}"
    assert token_matches(wanted[0], extract_number_tokens(translation))


@pytest.mark.parametrize(
    ("source", "translation"),
    [
        ("准确率达到90%", "accuracy reaches 90"),       # the percent sign is part of the figure
        ("训练300个epoch", "trained for 30 epochs"),
        ("1.72倍推理加速", "a 1.27x inference speedup"),
        ("p值<0.002", "p < 0.02"),
        ("3万名参与者", "3,000 participants"),
    ],
)
def test_changed_figure_does_not_match(source: str, translation: str) -> None:
    required = [t for t in extract_number_tokens(source) if t.required]
    available = extract_number_tokens(translation)
    assert not all(token_matches(t, available) for t in required)


def test_extract_numbers_canonical_forms() -> None:
    assert extract_numbers("在手机上速度提升2倍，准确率90%，p值<0.002，共3万人") == {"2x", "90%", "0.002", "30000"}
    assert extract_numbers("达到90%稀疏度和1.72倍推理加速，仅需2000个视频样本和1600训练步（批量大小8）") == {
        "90%", "1.72x", "2000", "1600", "8"}
    assert extract_numbers("It reaches 90% sparsity and a 1.72-fold speedup with 2,000 videos.") == {
        "90%", "1.72x", "2000"}
    assert extract_numbers(None) == set()
    assert extract_numbers("") == set()


def test_ranges_carry_their_suffix_to_both_ends() -> None:
    assert extract_numbers("顺从率范围0-100%") == {"0%", "100%"}
    assert extract_numbers("效果相当（30.0-36.0%）") == {"30%", "36%"}
    assert extract_numbers("生成步骤减少2-10倍") == {"2x", "10x"}
    assert extract_numbers("compliance ranged from 0 to 100%") == {"0%", "100%"}
    assert extract_numbers("数据覆盖2016-2023年") == {"2016", "2023"}


def test_identifiers_are_not_numbers() -> None:
    text = "在ImageNet-1K上用GPT-4o、Qwen2.5-7B、LLaVA-1.5-13B和F1、A100、Top-1评测"
    assert extract_numbers(text) == set()
    assert extract_numbers("on ImageNet-1K with GPT-4o and Qwen2.5-7B (top-1 F1)") == set()


def test_identifier_digits_are_only_available_forms() -> None:
    tokens = extract_number_tokens("GPT-4o and Qwen2.5-7B")
    assert [(t.canonical, t.origin) for t in tokens] == [("4", "ident"), ("2.5", "ident"), ("7", "ident")]
    assert not any(t.required for t in tokens)


def test_list_markers_are_not_numbers() -> None:
    assert extract_numbers("1. 对齐增加偏差；2. 范围调整最有效；3. 温度缩放有限。") == set()
    assert extract_numbers("(1) 具身线索；(2) 抽象表示") == set()
    assert extract_numbers("方法：1）编码器；2）融合模块；3）课程调优") == set()
    assert extract_numbers("① 编码器 ② 融合模块") == set()
    assert extract_numbers("strategies: 1) domain adaptation; 2) injection") == set()
    # ... but figures that merely sit next to a bracket or a full stop are kept
    assert extract_numbers("improved by 2. The score (9.5) and batch size (8)") == {"2", "9.5", "8"}


@pytest.mark.parametrize(
    ("text", "value"),
    [("三", 3), ("两", 2), ("十", 10), ("十二", 12), ("二十", 20), ("一百零五", 105), ("三千万", 30_000_000),
     ("五万亿", 5_000_000_000_000), ("一亿三千万", 130_000_000), ("二〇二四", 2024), ("零", 0)],
)
def test_parse_cjk_int(text: str, value: int) -> None:
    assert parse_cjk_int(text) == value


@pytest.mark.parametrize("text", ["三四", "一一"])
def test_parse_cjk_int_rejects_malformed_runs(text: str) -> None:
    assert parse_cjk_int(text) is None


def test_chinese_numerals_strong_and_weak() -> None:
    # counts are figures a translation must keep ...
    assert extract_numbers("三个数据集、两种设置和十二种语言") == {"3", "2", "12"}
    assert extract_numbers("百分之九十五的样本") == {"95%"}
    assert extract_numbers("训练十分钟") == {"10"}
    assert extract_numbers("三维重建") == {"3"}
    # ... 一 as an article, ordinals, approximations and idioms are not
    for text in ("提出一种统一的方法", "第一阶段", "数十个模型", "这十分重要", "二元分类", "二次加权Kappa", "三元组损失"):
        assert extract_numbers(text) == set(), text


def test_english_words_are_available_but_not_required() -> None:
    tokens = extract_number_tokens("Ten models on both datasets; the first stage halves memory.")
    by_word = {t.raw.lower(): t for t in tokens}
    assert by_word["ten"].canonical == "10" and by_word["ten"].origin == "word"
    assert by_word["both"].origin == "word_weak"
    assert by_word["first"].origin == "word_weak"
    assert any(t.canonical == "50%" for t in tokens)
    assert extract_numbers("Ten models on both datasets; the first stage halves memory.") == set()


def test_ratio_sides_count_as_plain_numbers() -> None:
    [ratio] = [t for t in extract_number_tokens("比例为3:1") if t.kind == "ratio"]
    assert token_matches(ratio, extract_number_tokens("a ratio of 3 to 1"))
    assert not token_matches(ratio, extract_number_tokens("a ratio of 3 to 2"))


def test_approx_matches_allows_rounding_to_the_written_digits() -> None:
    pool = extract_number_tokens("accuracy of 90.3%, a 1.72x speedup and 1,234,567 images")

    def claim(text: str):
        return extract_number_tokens(text)[0]

    assert approx_matches(claim("over 90% accuracy"), pool)
    assert approx_matches(claim("a 1.7x speedup"), pool)
    assert approx_matches(claim("1.2 million images"), pool)
    assert not approx_matches(claim("95% accuracy"), pool)
    assert not approx_matches(claim("a 1.8x speedup"), pool)
    assert approx_matches(claim("0.9 of the cases"), extract_number_tokens("90% of the cases"))


def test_tokens_carry_value_and_rounding_unit() -> None:
    [token] = extract_number_tokens("1.2 million")
    assert token.value == Decimal(1_200_000)
    assert token.unit == Decimal(100_000)
    [token] = extract_number_tokens("30k")
    assert (token.canonical, token.unit) == ("30000", Decimal(1000))
