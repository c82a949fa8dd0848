"""The checks against whole data sets.

* ``10-wrong-language-and-bad-translations.json`` (a copy of the shared synthetic file): every bad
  reply is flagged with an error by the check that names its fault; every good reply passes.
* Hand-written faithful translations of seed-digest fields and good re-summaries of seed
  abstracts: no issue at all (false positives would make the pipeline re-ask good answers).
* Real English LLM fields and abstracts from a public digest: the text-only checks stay quiet
  and their TL;DRs pass the summary checks against their abstracts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import SEED, shared
from support.requirements import missing

from pipeline.parse import parse_digest
from pipeline.validate import check_summary, check_translation
from pipeline.validate.checks import (
    check_language,
    check_latex_balance,
    check_placeholder,
    check_residual_cjk,
)

DATA = Path(__file__).parent / "data" / "validate"
SYNTHETIC_NAME = "10-wrong-language-and-bad-translations.json"

#: The check that must flag each kind of bad reply (with an error); other checks may fire too.
EXPECTED_CHECK = {
    "untranslated_copy": "unchanged",
    "wrong_target_language_spanish": "language",
    "traditional_chinese_rewrite": "residual_cjk",
    "partial_translation_mixed": "residual_cjk",
    "chatty_preamble": "placeholder",
    "premature_stop": "length",
    "empty": "schema",
    "refusal": "placeholder",
    "latex_mangled": "latex_balance",
    "number_changed": "numbers_preserved",
    "hallucinated_addition": "numbers_preserved",
    "sentinel_sent_to_llm_and_paraphrased": "placeholder",
}


def _synthetic() -> dict:
    return json.loads((DATA / SYNTHETIC_NAME).read_text(encoding="utf-8"))


def _bad_cases() -> list:
    return [pytest.param(req["field"], req["source_zh"], bad["reply"], bad["kind"], id=bad["kind"])
            for req in _synthetic()["requests"] for bad in req["bad"]]


def _good_cases() -> list:
    return [pytest.param(req["field"], req["source_zh"], req["good"], id=f"{req['field']}-{n}")
            for n, req in enumerate(_synthetic()["requests"]) if req["good"] is not None]


def test_synthetic_copy_is_current() -> None:
    assert json.loads(shared("synthetic", SYNTHETIC_NAME).read_text(encoding="utf-8")) == _synthetic()


@pytest.mark.parametrize(("field", "source", "reply", "kind"), _bad_cases())
def test_synthetic_bad_reply_is_flagged_by_its_check(field: str, source: str, reply: str, kind: str) -> None:
    assert kind in EXPECTED_CHECK, f"new fault kind {kind!r}: add the check that must flag it"
    issues = check_translation(field, reply, source)
    flagged = {i.check for i in issues if i.severity == "error"}
    assert EXPECTED_CHECK[kind] in flagged, [(i.check, i.severity, i.message) for i in issues]


@pytest.mark.parametrize(("field", "source", "reply"), _good_cases())
def test_synthetic_good_reply_passes(field: str, source: str, reply: str) -> None:
    assert check_translation(field, reply, source) == []


# --------------------------------------------------------------------------- seed digest

def _seed() -> dict:
    return json.loads((DATA / "seed_good_english.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", _seed()["translations"], ids=lambda r: f"{r['arxiv_id']}-{r['field']}")
def test_no_false_positive_on_faithful_seed_translation(row: dict) -> None:
    assert check_translation(row["field"], row["translation"], row["source"]) == []


def test_seed_translations_cover_numbers_terms_and_latex_free_fields() -> None:
    rows = _seed()["translations"]
    assert len(rows) >= 6
    assert sum(any(c.isdigit() for c in r["source"]) for r in rows) >= 10
    assert sum(any(c.isascii() and c.isalpha() for c in r["source"]) for r in rows) >= 10


@pytest.mark.parametrize("row", _seed()["summaries"], ids=lambda r: r["arxiv_id"])
def test_no_false_positive_on_good_seed_summary(row: dict) -> None:
    title = next(p.title for p in parse_digest(SEED).papers if p.arxiv_id == row["arxiv_id"])
    assert check_summary(row["summary"], row["abstract"], row["translation"], title=title) == []


KOREAN_SOURCE = ("RynnEC는 비전-언어 기반의 컴팩트한 비디오 멀티모달 LLM으로, 영역 인코더(region encoder)와 "
                 "마스크 디코더(mask decoder)를 결합해 영역 수준의 비디오 상호작용을 지원한다. 에고센트릭 "
                 "비디오에서 임베디드 인지 데이터를 생성하는 파이프라인과 RynnEC-Bench 벤치마크를 제시하며, "
                 "객체 속성 이해, 분할, 공간 추론에서 SOTA 성능을 보인다.")
KOREAN_TRANSLATION = (
    "RynnEC is a compact video multimodal LLM built on vision-language foundations that combines a "
    "region encoder with a mask decoder to support region-level video interaction. It presents a "
    "pipeline that generates embodied cognition data from egocentric videos and the RynnEC-Bench "
    "benchmark, and shows SOTA performance on object property understanding, segmentation and "
    "spatial reasoning.")


def test_korean_source_with_faithful_translation_passes() -> None:
    assert check_translation("tldr", KOREAN_TRANSLATION, KOREAN_SOURCE) == []
    issues = check_translation("tldr", KOREAN_SOURCE, KOREAN_SOURCE)
    assert {"language", "residual_cjk", "unchanged"} <= {i.check for i in issues if i.severity == "error"}


# --------------------------------------------------------------------------- real English

def _real() -> list[dict]:
    return json.loads((DATA / "real_english_fields.json").read_text(encoding="utf-8"))["papers"]


@pytest.mark.parametrize("paper", _real(), ids=lambda p: p["arxiv_id"])
def test_text_checks_quiet_on_real_english_fields(paper: dict) -> None:
    for name in ("tldr", "motivation", "method", "result", "conclusion"):
        text = paper[name]
        issues = (check_language(name, text) + check_residual_cjk(name, text)
                  + check_placeholder(name, text) + check_latex_balance(name, text))
        assert issues == [], (name, text)


@pytest.mark.parametrize("paper", _real(), ids=lambda p: p["arxiv_id"])
def test_real_tldr_passes_summary_checks_against_its_abstract(paper: dict) -> None:
    fields = {k: paper[k] for k in ("motivation", "method", "result", "conclusion")}
    issues = check_summary(paper["tldr"], paper["abstract"], fields, title=paper.get("title", ""))
    # A single uncommon word the abstract does not use is a warning (a translator's choice as
    # often as an intruder): published English may have those, never an error.
    assert [i for i in issues if i.severity == "error"] == []
    assert {i.check for i in issues} <= {"off_context_word"}
