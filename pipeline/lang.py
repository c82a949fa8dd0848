"""Language detection for digest fields: cheap script statistics first, langdetect only when needed.

:func:`detect_language` decides most texts from character classes alone (~8 µs for a
100-character field):

* CJK-dominated text (CJK characters weighed against Latin words) -> ``ja`` if it carries kana,
  ``ko`` if it carries hangul, else ``zh``;
* Latin-script text full of English function words and free of other languages' function words
  and accented letters -> ``en`` (probability 0.9-0.99; 0.8 with a single function word).

Only the rest (other Latin-script languages, Cyrillic, mixed or terse text) goes to langdetect,
whose seed is fixed at import (``DetectorFactory.seed = 0``) so answers are reproducible. Its
profiles are loaded once, under a lock, into a private factory; after that concurrent calls are
safe (each call gets its own detector). Answers are cached.
On unaccented ASCII text with no function words at all (a title, a list of model names)
langdetect is unreliable (it calls "Auto-Regressive Masked Diffusion Models" German), so the
answer there is ``en`` -- with langdetect's probability (at least 0.7) when it agrees, else 0.6.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException

DetectorFactory.seed = 0

__all__ = ["LanguageGuess", "detect_language", "cjk_share", "UNKNOWN"]

UNKNOWN = "unknown"

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_KANA = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HANGUL = "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
_HAN_RE = re.compile(f"[{_HAN}]")
_KANA_RE = re.compile(f"[{_KANA}]")
_HANGUL_RE = re.compile(f"[{_HANGUL}]")
_CJK_RE = re.compile(f"[{_HAN}{_KANA}{_HANGUL}]")
_SPACE_RE = re.compile(r"\s")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_WORD_RE = re.compile(r"[^\W\d_]+")
_ASCII_LETTERS_RE = re.compile(r"[A-Za-z]+")
_ACCENTED_RE = re.compile(r"[\u00c0-\u024f]")
_MATH_RE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\\[A-Za-z]+", re.S)

#: Minimum letters for any guess; Latin text below _MIN_LATIN_LETTERS that the stop-word
#: heuristic cannot settle is "unknown" (langdetect is unreliable on a few words).
_MIN_LETTERS = 3
_PRIOR_EN_PROBABILITY = 0.6
_MIN_LATIN_LETTERS = 12

_EN_STOP = frozenset(
    "the of and to in is for with on that by we this are from as an be it its which at or not "
    "can our these has have was were their into than while without using such both between "
    "through across also more over under based how when where who been does do only each".split()
)
# Function words of other Latin-script languages that English technical prose never uses.
_FOREIGN_STOP = frozenset(
    "le la les des une est sont pour avec dans sur qui que du au aux nous cette ces leur "
    "el los las una es por con del para se su sus como más "
    "der das und ist mit für von den dem ein eine nicht wir auf sich "
    "il della delle degli sono che gli nel "
    "os uma não são com pelo pela "
    "het een zijn voor niet".split()
)
FOREIGN_FUNCTION_WORDS = _FOREIGN_STOP
"""Function words of other Latin-script languages (French, Spanish, German, Italian, Portuguese,
Dutch) that English technical prose never uses: one in English text hints at another language."""


@dataclass(frozen=True)
class LanguageGuess:
    """``language``: ISO 639-1 code or ``"unknown"``; ``probability`` in [0, 1];
    ``cjk_share``: share of CJK ideographs + kana + hangul among non-space characters."""

    language: str
    probability: float
    cjk_share: float


def without_math(text: str) -> str:
    """``text`` with LaTeX math (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``) and bare
    commands (``\\times``) replaced by a space: the prose that word-level checks read."""
    return _MATH_RE.sub(" ", text) if ("$" in text or "\\" in text) else text


def cjk_share(text: str) -> float:
    """Share (0..1) of CJK ideographs, kana and hangul among the non-space characters of ``text``."""
    if not text or text.isascii():
        return 0.0
    nonspace = len(text) - len(_SPACE_RE.findall(text))
    return len(_CJK_RE.findall(text)) / nonspace if nonspace else 0.0


def detect_language(text: str) -> LanguageGuess:
    """Guess the language of ``text``; see the module docstring for the decision order.

    Returns ``unknown`` (probability 0) for non-strings, empty text, text with fewer than 3
    letters, and short Latin text the heuristics cannot settle. LaTeX math is ignored.
    Pure function, safe to call from several threads.
    """
    if not isinstance(text, str) or not text.strip():
        return LanguageGuess(UNKNOWN, 0.0, 0.0)
    return _detect(text)


@lru_cache(maxsize=2048)
def _detect(text: str) -> LanguageGuess:
    """:func:`detect_language` of a non-blank string; memoized (a run asks about each source
    field from the detect stage, the fake provider and several checks)."""
    is_ascii = text.isascii()
    prose = _MATH_RE.sub(" ", text) if ("$" in text or "\\" in text) else text
    if is_ascii:
        return LanguageGuess(*_guess_latin(prose, True), 0.0)
    counts = [len(r.findall(text)) for r in (_HAN_RE, _KANA_RE, _HANGUL_RE)]
    nonspace = len(text) - len(_SPACE_RE.findall(text))
    share = sum(counts) / nonspace
    guess = _guess_cjk(prose, *counts) if share else None
    return LanguageGuess(*(guess or _guess_latin(prose, False)), share)


def _guess_cjk(prose: str, han: int, kana: int, hangul: int) -> tuple[str, float] | None:
    """CJK decision: None when the CJK characters do not outweigh the Latin words."""
    cjk = han + kana + hangul
    if cjk < 2:
        return None
    weight = cjk / (cjk + len(_LATIN_WORD_RE.findall(prose)))
    if weight < 0.5:
        return None
    if hangul >= 0.3 * cjk:
        return "ko", round(weight, 3)
    if kana >= 2 and kana >= 0.05 * (han + kana):
        return "ja", round(weight, 3)
    return "zh", round(weight, 3)


def _guess_latin(prose: str, is_ascii: bool) -> tuple[str, float]:
    """English by function words (no accents, no foreign function words), else langdetect."""
    written = (_ASCII_LETTERS_RE if is_ascii else _WORD_RE).findall(prose)
    words = [w.lower() for w in written]
    letters = sum(map(len, words))
    if letters < _MIN_LETTERS:
        return UNKNOWN, 0.0
    en_hits = sum(map(_EN_STOP.__contains__, words))
    # An acronym is not a function word: "(CEs)" is not French "ces", "DAS" not German "das".
    foreign_hits = sum(1 for w in written if w.lower() in _FOREIGN_STOP and (w.islower() or w.istitle()))
    accented = 0 if is_ascii else len(_ACCENTED_RE.findall(prose))
    if en_hits >= 2 and en_hits >= 4 * foreign_hits and accented <= 0.02 * letters:
        return "en", min(0.99, 0.9 + 0.01 * (en_hits - foreign_hits - 2))
    if en_hits == 1 and not foreign_hits and not accented:
        return "en", 0.8
    if letters < _MIN_LATIN_LETTERS:
        return UNKNOWN, 0.0
    language, probability = _langdetect(prose.strip())
    if is_ascii and not en_hits and not foreign_hits:
        # Terse unaccented text without function words (a title, a list of model names): no
        # evidence for any language and langdetect is unreliable on it; in arXiv digests such
        # text is English, so that prior wins, with a low probability.
        return "en", max(probability, 0.7) if language == "en" else _PRIOR_EN_PROBABILITY
    return language, probability


_INIT_LOCK = threading.Lock()
_FACTORY: DetectorFactory | None = None


class _LazyProbabilities(Mapping[str, list[float]]):
    """langdetect's ``word_lang_prob_map``, each n-gram's row computed on first use.

    ``DetectorFactory.add_profile`` builds the row of every n-gram of every profile up front
    (~0.4 s, most of a cold fake run); a detection looks up a few hundred. The rows are the same
    numbers ``add_profile`` writes (``freq / n_words[len - 1]`` at the profile's index, 0.0 for
    the other languages and for n-grams longer than 3), so answers are identical.
    """

    def __init__(self, profiles: list[tuple[dict[str, int], list[int]]], langsize: int) -> None:
        self._profiles = profiles
        self._langsize = langsize
        self._rows: dict[str, list[float]] = {}

    def __contains__(self, word: object) -> bool:
        return word in self._rows or any(word in freq for freq, _ in self._profiles)

    def __getitem__(self, word: str) -> list[float]:
        row = self._rows.get(word)
        if row is None:
            row, found = [0.0] * self._langsize, False
            for index, (freq, n_words) in enumerate(self._profiles):
                if word in freq:
                    found = True
                    if 1 <= len(word) <= 3:
                        row[index] = 1.0 * freq[word] / n_words[len(word) - 1]
            if not found:
                raise KeyError(word)
            self._rows[word] = row  # a racing thread computes the same row
        return row

    def __iter__(self) -> Iterator[str]:
        return iter({word for freq, _ in self._profiles for word in freq})

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _load_factory(directory: str) -> DetectorFactory:
    """A factory over the profiles in ``directory``, in ``load_profile``'s order (``listdir``),
    with the n-gram table built lazily (:class:`_LazyProbabilities`)."""
    names = os.listdir(directory)
    profiles: list[tuple[dict[str, int], list[int]]] = []
    factory = DetectorFactory()
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        factory.langlist.append(data["name"])
        profiles.append((data["freq"], data["n_words"]))
    factory.word_lang_prob_map = _LazyProbabilities(profiles, len(names))
    return factory


def _factory() -> DetectorFactory:
    """A private, fully loaded langdetect factory, built once under a lock.

    langdetect's own lazy ``init_factory`` publishes its global factory *before* loading the
    profiles, so a concurrent first call can detect with half the profiles (every text came out
    "pl" in a test); this one is published only when complete.
    """
    global _FACTORY
    if _FACTORY is None:
        with _INIT_LOCK:
            if _FACTORY is None:
                _FACTORY = _load_factory(detector_factory.PROFILES_DIRECTORY)
    return _FACTORY


@lru_cache(maxsize=2048)
def _langdetect(text: str) -> tuple[str, float]:
    """Top langdetect language as (ISO 639-1 code, probability); ``unknown`` when it gives up."""
    detector = _factory().create()
    detector.append(text)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return UNKNOWN, 0.0
    return best.lang.split("-")[0], round(best.prob, 3)
