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
           "support", "supported", "squash", "sentences", "stem", "stems_of", "zipf_of",
           "is_academic", "load_tables"]

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
WORD_CACHE = 1 << 15
"""Entries of each per-word cache here: the distinct words of the abstracts of about ten days
(5 archive days hold 20,752; at 8,192 a backfill evicted and recomputed most of them)."""
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps its word in the object
_TABLES_LOCK = threading.Lock()
_tables_loaded = False


def load_tables() -> None:
    """Load lemminflect's lemma table and wordfreq's English list once (about 0.5 s); later
    calls return at once. Both libraries load lazily with no lock, so worker threads that reach
    them at the same moment each load a copy: on the sample with the openai provider at
    concurrency 16, the first run of a process took 18.9 s instead of 3.8 s. Every function here
    and in :mod:`pipeline.validate.terms_en` that reads them calls this first."""
    global _tables_loaded
    if not _tables_loaded:
        with _TABLES_LOCK:  # the first caller loads; the others wait for it
            if not _tables_loaded:
                getAllLemmas("tables")
                zipf_frequency("tables", "en")
                _tables_loaded = True


@lru_cache(maxsize=WORD_CACHE)
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


@lru_cache(maxsize=WORD_CACHE)
def _forms(word: str) -> tuple[frozenset[str], frozenset[str], bool]:
    """(word and its lemmas, their stems -- and the stem of the word less a negative prefix --,
    every lemma is a noun)."""
    load_tables()
    lemmas = getAllLemmas(word)
    forms = frozenset({word, *(lemma for group in lemmas.values() for lemma in group)})
    stems = {stem(form) for form in forms}
    for prefix in _NEGATIVE_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 5:
            stems.add(stem(word[len(prefix):]))
    return forms, frozenset(stems), bool(lemmas) and set(lemmas) == {"NOUN"}


def stems_of(word: str) -> frozenset[str]:
    """The stems of a lower-case word, of its lemmas and of it less a negative prefix (cached)."""
    return _forms(word)[1]


@lru_cache(maxsize=WORD_CACHE)
def word_info(word: str) -> WordInfo:
    """:class:`WordInfo` of a lower-case ASCII word (cached; ~50 µs the first time)."""
    forms, stems, noun_only = _forms(word)
    return WordInfo(word, stems, zipf_of(word), noun_only, bool(stems & ACADEMIC_STEMS),
                    word in NUMBER_WORDS)


@lru_cache(maxsize=WORD_CACHE)
def zipf_of(word: str) -> float:
    """Zipf frequency of a lower-case word: the highest over the word and its lemmas."""
    return max(zipf_frequency(form, "en") for form in _forms(word)[0])


def is_academic(word: str) -> bool:
    """True when a stem of the word is ordinary research vocabulary (:data:`ACADEMIC_STEMS`)."""
    return bool(_forms(word)[1] & ACADEMIC_STEMS)


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


@lru_cache(maxsize=128)
def paper_words(abstract: str | None, title: str | None) -> frozenset[str] | None:
    """The lower-case :func:`words` of a paper's abstract and title as written (no lemmas or
    stems: cheap, for a first look); None when both are blank (nothing to compare with)."""
    if not (abstract or "").strip() and not (title or "").strip():
        return None
    return frozenset(words(f"{abstract or ''}\n{title or ''}"))


@lru_cache(maxsize=128)
def paper_support(abstract: str | None, title: str | None) -> Support:
    """The :class:`Support` of a paper's abstract and title alone (cached per paper)."""
    return _build(tuple(p for p in (abstract, title) if p),
                  not (abstract or "").strip() and not (title or "").strip())


def _build(parts: tuple[str, ...], empty: bool) -> Support:
    joined = "\n".join(parts)
    found = set(words(joined))
    stems = set().union(*map(stems_of, found))
    tokens = {m.group().lower() for m in _HYPHENATED.finditer(joined)}
    tokens |= {part for token in tokens if "-" in token for part in token.split("-")}
    numbers = tuple(tok for part in parts for tok in extract_number_tokens(part))
    return Support(frozenset(found), frozenset(stems), frozenset(tokens), squash(joined), numbers, empty)


@lru_cache(maxsize=256)
def support(source: str | None, abstract: str | None, title: str | None) -> Support:
    """The :class:`Support` of one field's source and its paper's abstract and title (cached;
    the abstract and title part once per paper)."""
    paper = paper_support(abstract, title)
    if not source:
        return paper
    own = _build((source,), paper.empty)
    return Support(paper.words | own.words, paper.stems | own.stems, paper.hyphenated | own.hyphenated,
                   f"{paper.squashed}\n{own.squashed}", paper.numbers + own.numbers, paper.empty)


def supported(word: str, evidence: Support) -> bool:
    """True when a lower-case ``word`` (or a lemma, or its stem) occurs in ``evidence``."""
    return word in evidence.words or bool(stems_of(word) & evidence.stems)
