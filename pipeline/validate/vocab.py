"""The words of an English field and what supports them: the paper's abstract, title and source.

Shared by the content checks (:mod:`pipeline.validate.content`, :mod:`pipeline.validate.offtopic`)
and the re-ask evidence (:mod:`pipeline.validate.evidence`). Everything here is a pure function
of its strings, cached, and needs no network:

* word frequency: ``wordfreq``'s Zipf scale (log10 of occurrences per billion words; "the" 7.7,
  "segment" 4.3, "histopathology" 2.1), taken as the highest over the word and its lemmas
  (``lemminflect``: "hospitals" -> "hospital", "closer" -> "close");
* morphology: Snowball English stems ("segmentation" ~ "segment", "federated" ~ "federate"),
  also of the lemmas, and of the word less a negative prefix ("insensitive" ~ "sensitivity");
* research vocabulary: ``data/academic_stems.txt``, the stems used by at least 1% of 3,287 arXiv
  abstracts (built by ``tools/build_academic_stems.py``): words any paper summary may use.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import snowballstemmer
from lemminflect import getAllLemmas
from wordfreq import zipf_frequency

from pipeline.validate.numbers import NUMBER_WORDS, NumberToken, extract_number_tokens

__all__ = ["STOP_WORDS", "WordInfo", "Support", "word_info", "words", "content_words",
           "support", "supported", "squash", "sentences", "stem"]

#: English function words and the meta words of any summary ("paper", "study", "authors").
STOP_WORDS = frozenset("""
a about above across after again against all almost also although always am among an and another
any are around as at be because been before being below between both but by can cannot could did
do does doing done down during each either else even ever every few for from further had has have
having he her here hers him his how however if in into is it its itself just least less many may
me might more most much must my neither no nor not of off often on once only onto or other others
otherwise our ours out over own per rather same she should since so some still such than that the
their theirs them themselves then there therefore these they this those though through thus to
together too toward towards under until up upon us very via was we well were what whatever when
where whereas whether which while who whom whose why will with within without would yet you your
paper papers study studies work works author authors article text summary translation section
field english chinese here propose proposes proposed present presents presented new novel also
despite unlike beyond including compared regarding given due moreover furthermore besides
""".split())

_WORD = re.compile(r"[A-Za-z][A-Za-z]*")
_HYPHENATED = re.compile(r"[A-Za-z0-9]+(?:[-'.][A-Za-z0-9]+)*")
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_NEGATIVE_PREFIXES = ("non", "un", "in", "im", "ir", "il", "dis")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps its word in the object


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball English stem of a lower-case word (cached, thread-safe)."""
    with _STEMMER_LOCK:
        return _STEMMER.stemWord(word)


def _academic() -> frozenset[str]:
    text = resources.files("pipeline.validate").joinpath("data/academic_stems.txt").read_text("utf-8")
    return frozenset(line for line in text.split() if line and not line.startswith("#"))


ACADEMIC_STEMS = _academic()


@dataclass(frozen=True)
class WordInfo:
    """One lower-case word: ``stems`` (word, lemmas, word less a negative prefix), ``zipf``
    (highest over word and lemmas), ``noun_only`` (every lemma is a noun), ``academic`` (a stem
    is ordinary research vocabulary), ``number`` (an English number word: "twenty", "half")."""

    word: str
    stems: frozenset[str]
    zipf: float
    noun_only: bool
    academic: bool
    number: bool


@lru_cache(maxsize=65536)
def word_info(word: str) -> WordInfo:
    """:class:`WordInfo` of a lower-case ASCII word (cached; ~50 µs the first time)."""
    lemmas = getAllLemmas(word)
    forms = {word, *(lemma for group in lemmas.values() for lemma in group)}
    stems = {stem(form) for form in forms}
    for prefix in _NEGATIVE_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 5:
            stems.add(stem(word[len(prefix):]))
    zipf = max(zipf_frequency(form, "en") for form in forms)
    return WordInfo(word, frozenset(stems), zipf, bool(lemmas) and set(lemmas) == {"NOUN"},
                    bool(stems & ACADEMIC_STEMS), word in NUMBER_WORDS)


def words(text: str) -> list[str]:
    """Lower-case ASCII words of ``text``, hyphenated compounds split ("video-based" -> 2)."""
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """:func:`words` of three letters or more that are not :data:`STOP_WORDS`, in order."""
    return [w for w in words(text) if len(w) >= 3 and w not in STOP_WORDS]


def squash(text: str) -> str:
    """Lower case, letters and digits only: ``"GPT-4o mini"`` -> ``"gpt4omini"``."""
    return _NON_ALNUM.sub("", text.lower())


def sentences(text: str) -> list[str]:
    """``text`` cut after ``. ! ? ;`` and at line breaks; blank pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


@dataclass(frozen=True)
class Support:
    """What a paper offers to support an English field: the lower-case ``words`` and their
    ``stems`` (abstract, title and the source's Latin-script words), ``hyphenated`` tokens as
    written ("qwen2-vl-2b", lower case) and their hyphen-separated parts ("macro-F1" -> "f1"), the ``squashed`` abstract + title + source, and the ``numbers`` of
    all three. ``empty`` when there is no abstract and no title (nothing to compare with)."""

    words: frozenset[str]
    stems: frozenset[str]
    hyphenated: frozenset[str]
    squashed: str
    numbers: tuple[NumberToken, ...]
    empty: bool


@lru_cache(maxsize=2048)
def support(source: str | None, abstract: str | None, title: str | None) -> Support:
    """The :class:`Support` of one field's source and its paper's abstract and title (cached)."""
    parts = [p for p in (abstract, title, source) if p]
    joined = "\n".join(parts)
    found = set(words(joined))
    stems = {stem for w in found for stem in word_info(w).stems}
    numbers = tuple(tok for part in parts for tok in extract_number_tokens(part))
    tokens = {m.group().lower() for m in _HYPHENATED.finditer(joined)}
    tokens |= {part for token in tokens if "-" in token for part in token.split("-")}
    return Support(frozenset(found), frozenset(stems), frozenset(tokens),
                   squash(joined), numbers, not (abstract or "").strip() and not (title or "").strip())


def supported(word: str, evidence: Support) -> bool:
    """True when a lower-case ``word`` (or a lemma, or its stem) occurs in ``evidence``."""
    return word in evidence.words or bool(word_info(word).stems & evidence.stems)
