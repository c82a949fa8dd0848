"""pipeline.lang: language detection (cheap script signals first, langdetect only when needed)."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from langdetect import detector_factory

from pipeline import lang
from pipeline.lang import LanguageGuess, cjk_share, detect_language

@pytest.fixture(autouse=True)
def _fresh_answers() -> None:
    """Answers are memoized per process; each test starts from none, so a patched langdetect
    neither leaks out of its test nor is bypassed by an answer from an earlier one."""
    lang._detect.cache_clear()
    lang._langdetect.cache_clear()


ZH = "提出一种轻量分割网络，在手机上速度提升2倍且精度不降。"
ZH_LATIN_HEAVY = "利用 $\\mathcal{L}_{\\text{KL}}$ 约束学生模型，并在 ImageNet-1K 上训练 300 个 epoch。"
ZH_TRADITIONAL = "提出一種輕量分割網路，在手機上速度提升2倍且精度不降。"
JA = "軽量なセグメンテーションネットワークを提案し、スマートフォンで推論速度を2倍にする。"
KO = ("RynnEC는 비전-언어 기반의 컴팩트한 비디오 멀티모달 LLM으로, 영역 인코더와 마스크 디코더를 결합해 "
      "영역 수준의 비디오 상호작용을 지원한다.")
EN = "A lightweight segmentation network doubles inference speed on phones without losing accuracy."
ES = "Se propone una red de segmentación ligera que duplica la velocidad en teléfonos."
FR = "Un réseau de segmentation léger double la vitesse sur les téléphones sans perte de précision."
DE = "Ein leichtes Segmentierungsnetz verdoppelt die Geschwindigkeit auf Mobiltelefonen."
RU = "Легкая сеть сегментации удваивает скорость вывода на телефонах без потери точности."


@pytest.mark.parametrize(
    ("text", "language"),
    [(ZH, "zh"), (ZH_LATIN_HEAVY, "zh"), (ZH_TRADITIONAL, "zh"), (JA, "ja"), (KO, "ko"), (EN, "en"),
     (ES, "es"), (FR, "fr"), (DE, "de"), (RU, "ru")],
)
def test_detects_language(text: str, language: str) -> None:
    guess = detect_language(text)
    assert guess.language == language
    assert guess.probability >= 0.8


@pytest.mark.parametrize("text", ["", "   \n", "N/A", "12.5% / 0.002", "$x^2$", "- ... -"])
def test_unknown_for_empty_short_or_letterless(text: str) -> None:
    assert detect_language(text) == LanguageGuess("unknown", 0.0, cjk_share(text))


def test_non_string_is_unknown() -> None:
    assert detect_language(None).language == "unknown"  # type: ignore[arg-type]


def test_guess_is_a_frozen_dataclass() -> None:
    guess = detect_language(EN)
    assert dataclasses.is_dataclass(guess)
    with pytest.raises(dataclasses.FrozenInstanceError):
        guess.language = "fr"  # type: ignore[misc]


def test_cjk_share_counts_ideographs_kana_hangul_among_non_space() -> None:
    # 24 ideographs + 1 digit + 2 full-width punctuation marks = 27 non-space characters
    assert cjk_share(ZH) == pytest.approx(24 / 27)
    assert cjk_share(EN) == 0.0
    assert cjk_share("") == 0.0
    assert cjk_share("ab 模型") == pytest.approx(2 / 4)
    assert cjk_share("セグメント") == 1.0
    assert cjk_share("영역 인코더") == 1.0
    assert detect_language(ZH).cjk_share == pytest.approx(cjk_share(ZH))


def test_mostly_english_with_a_few_cjk_characters_is_english() -> None:
    text = "The proposed network (轻量) doubles inference speed on phones without losing accuracy."
    guess = detect_language(text)
    assert guess.language == "en"
    assert 0 < guess.cjk_share < 0.05


def test_half_translated_text_counts_cjk_words_against_latin_words() -> None:
    guess = detect_language("A lightweight segmentation network is proposed，在手机上速度提升2倍且精度不降。")
    assert guess.language == "zh"
    assert 0.2 < guess.cjk_share < 0.3


def test_latex_math_is_ignored() -> None:
    text = "We prove a regret bound of $\\mathcal{O}(\\sqrt{T \\log K})$ for the greedy variant."
    assert detect_language(text).language == "en"
    assert detect_language("$\\mathcal{O}(\\sqrt{T \\log K})$").language == "unknown"


@pytest.mark.parametrize(
    "title",
    ["Auto-Regressive Masked Diffusion Models", "Let EEG Models Learn EEG",
     "Q-ARVD: Quantizing Autoregressive Video Diffusion Models", "Regional Bias in Large Language Models"],
)
def test_terse_english_without_function_words_is_english(title: str) -> None:
    # langdetect alone calls several of these German, Italian or Catalan.
    assert detect_language(title).language == "en"


def test_clear_cases_do_not_call_langdetect(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(text: str) -> tuple[str, float]:
        raise AssertionError(f"langdetect called for {text!r}")

    monkeypatch.setattr(lang, "_langdetect", boom)
    for text, language in ((ZH, "zh"), (JA, "ja"), (KO, "ko"), (EN, "en"), (ZH_LATIN_HEAVY, "zh")):
        assert detect_language(text).language == language


def test_acronyms_are_not_foreign_function_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lang, "_langdetect", lambda text: ("fr", 0.99))  # would be wrong here
    text = ("Counterfactual explanations (CEs) offer interpretable insights into machine learning "
            "predictions by answering questions.")
    guess = detect_language(text)
    assert guess.language == "en" and guess.probability >= 0.9
    # Written as a word, the same function word still counts against English (langdetect decides).
    assert detect_language("the model and the les evaluation").language == "fr"
    assert detect_language("the model and the LES evaluation").language == "en"


def test_langdetect_is_deterministic() -> None:
    first = detect_language(FR)
    lang._detect.cache_clear()
    lang._langdetect.cache_clear()
    assert detect_language(FR) == first


def test_thread_safe_from_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [ES, FR, DE, RU, EN, ZH, JA, KO] * 4
    expected = [detect_language(t) for t in texts]
    monkeypatch.setattr(lang, "_FACTORY", None)  # profiles not loaded yet
    monkeypatch.setattr(detector_factory, "_factory", None)
    lang._detect.cache_clear()
    lang._langdetect.cache_clear()
    results: dict[int, list[LanguageGuess]] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            results[k] = [detect_language(t) for t in texts]
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == expected for r in results.values())
