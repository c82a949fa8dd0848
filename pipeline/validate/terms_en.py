"""Names in English text: acronyms, mixed-case names and capitalised (multi-word) terms.

:func:`english_terms` finds the candidates the ``invented_term`` check looks up in the paper
("FOC", "Model Y", "QuantaFormer", "Federal Medical-Surgical Technology", "Shanghai"); a
capitalised word that only starts a sentence ("Proposes", "The") is not one, and neither is
anything inside LaTeX math or a URL. :func:`term_supported` says whether a candidate occurs in a
paper's :class:`~pipeline.validate.vocab.Support` (case-blind; hyphens, spaces and plurals
tolerated; "Bayes" ~ "Bayesian"; the English names of languages and places written in Chinese in
the source count).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lemminflect import getAllLemmas
from wordfreq import zipf_frequency

from pipeline.validate.bilingual import ROOT, source_glossary
from pipeline.validate.vocab import STOP_WORDS, Support, load_tables, squash, word_info

__all__ = ["EnglishTerm", "english_terms", "term_supported", "CJK_PROPER_NOUNS"]

_TOKEN = re.compile(r"(?<![^\W_])(?<!\d[.,])(?=\d*[^\W\d_])[^\W_]+(?:['’][sS](?![^\W\d_]))?(?:[-_.][^\W_]+)*")
_STRIP = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\\[A-Za-z]+|https?://\S+|www\.\S+", re.S)
_CONNECTORS = frozenset({"of", "and", "for", "the", "de", "von", "van", "der", "on", "in"})
#: The tokens english_terms looks at: those with a capital or a digit, and the connectors (a
#: lower-case word in between breaks a run through the gap test, without being visited).
_CANDIDATE = re.compile(r"(?=[\w'’.-]*[A-Z0-9]|(?:of|and|for|the|de|von|van|der|on|in)\b)" + _TOKEN.pattern)
_LIST_MARKER_END = re.compile(r"(?:^|[\s(（;:,])\(?\d{1,2}[.)]$")
_ALWAYS_OK = frozenset({"i", "ai", "e.g", "i.e", "et", "al", "vs", "etc"}) | frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
    "saturday sunday".split())
#: Sentence-initial capitalised words at least this frequent (Zipf) are ordinary words.
COMMON_INITIAL_ZIPF = 5.0

#: English names a translator writes for Chinese names of languages and places in the source.
CJK_PROPER_NOUNS: dict[str, tuple[str, ...]] = {
    "中文": ("chinese",), "汉语": ("chinese",), "中国": ("china", "chinese"), "英语": ("english",),
    "英国": ("united", "kingdom", "uk", "britain", "british"), "美国": ("united", "states", "us", "usa",
    "american", "america"), "俄罗斯": ("russia", "russian"), "乌克兰": ("ukraine", "ukrainian"),
    "德国": ("germany", "german"), "法国": ("france", "french"), "加拿大": ("canada", "canadian"),
    "澳大利亚": ("australia", "australian"), "北京": ("beijing",), "上海": ("shanghai",),
    "英文": ("english",), "日语": ("japanese",), "日本": ("japan", "japanese"), "韩语": ("korean",),
    "韩国": ("korea", "korean"), "法语": ("french",), "德语": ("german",), "西班牙": ("spanish", "spain"),
    "阿拉伯": ("arabic",), "俄语": ("russian",), "印地语": ("hindi",), "孟加拉": ("bengali",),
    "斯瓦希里": ("swahili",), "美国": ("us", "usa", "american"), "欧洲": ("europe", "european"),
    "非洲": ("africa", "african"), "亚洲": ("asia", "asian"), "印度": ("india", "indian"),
    "拉丁": ("latin",), "希腊": ("greek",), "维基百科": ("wikipedia",), "高斯": ("gaussian", "gauss"),
    "贝叶斯": ("bayesian", "bayes"), "马尔可夫": ("markov",), "傅里叶": ("fourier",),
    "欧几里得": ("euclidean",), "拉普拉斯": ("laplacian", "laplace"), "黎曼": ("riemannian",),
    "希尔伯特": ("hilbert",), "蒙特卡洛": ("monte", "carlo"), "帕累托": ("pareto",),
}


@dataclass(frozen=True)
class EnglishTerm:
    """A candidate name: ``text`` as written, its ``parts`` (connectors left out) and ``start``."""

    text: str
    parts: tuple[str, ...]
    start: int
    initial: bool = False


#: Lower-case prefixes before a capitalised word that do not make a name: "non-English".
_PREFIXES = ("non-", "anti-", "pre-", "post-", "pro-", "multi-", "cross-", "pan-", "semi-", "sub-",
             "inter-", "intra-", "trans-", "ultra-", "mid-", "neo-", "quasi-", "pseudo-", "self-")


def _name_like(token: str) -> bool:
    core = token.rstrip("'’sS") if token[-2:] in ("'s", "’s") else token
    core = next((core[len(p):] for p in _PREFIXES if core.startswith(p)), core)
    return (any(c.isdigit() for c in core) or any(c.isupper() for c in core[1:])
            or (core.isupper() and len(core) >= 2))


_PLAIN = re.compile(r"[a-z]+(?:[-'’][a-z]+)*")


def _kind(token: str, text: str, start: int) -> str | None:
    """``name`` (acronym/mixed case), ``cap`` (capitalised word mid-sentence), ``initial``
    (capitalised and sentence-initial, rare), ``letter`` (a lone capital), or None."""
    if _PLAIN.fullmatch(token):
        return None  # most words: lower case, no digit
    if _name_like(token):
        return "name"
    if not token[0].isupper():
        return "cap" if any(token.startswith(p) and token[len(p):][:1].isupper() for p in _PREFIXES) else None
    if len(token) == 1:
        return "letter"
    if _starts_sentence(text, start):
        return None if _ordinary(token.split("-")[0].lower()) else "initial"
    return "cap"


def _starts_sentence(text: str, start: int) -> bool:
    """True at the start of the text, after ``. ! ? : ;``, a line break or an opening quote, and
    after a list marker ("2) Mandarin", "1. Floating-point")."""
    head = text[max(0, start - 8):start].rstrip()
    if not head:
        return not text[:start].strip()
    if head[-1] in ".!?:;\"“‘'\n":
        return True
    return head[-1] == ")" and bool(_LIST_MARKER_END.search(head))


@lru_cache(maxsize=8192)
def _ordinary(word: str) -> bool:
    """A dictionary word (``lemminflect`` knows it), a function word, or a very frequent one
    (Zipf >= :data:`COMMON_INITIAL_ZIPF`): not a name when it starts a sentence. Names such as
    "Shanghai" have no lemma ("Google", a verb too, is missed; a name after it is not)."""
    load_tables()
    return word in STOP_WORDS or bool(getAllLemmas(word)) or zipf_frequency(word, "en") >= COMMON_INITIAL_ZIPF


@lru_cache(maxsize=1024)
def english_terms(text: str) -> tuple[EnglishTerm, ...]:
    """Candidate names of ``text`` in order; adjacent ones (a space apart, or joined by up to
    two connectors such as "of", "and", "for") form one multi-word term. A lone capital letter
    only counts next to a name ("Model Y")."""
    prose = _STRIP.sub(lambda m: " " * len(m.group()), text)
    terms: list[EnglishTerm] = []
    run: list[tuple[str, str, int]] = []
    pending: list[tuple[str, str, int]] = []
    lead: tuple[str, str, int] | None = None
    last_end = -10
    for m in _CANDIDATE.finditer(prose):
        token, start = m.group(), m.start()
        adjacent = start - last_end <= 2 and prose[last_end:start].isspace()
        kind = _kind(token, prose, start)
        if kind == "letter" and adjacent and lead is not None:
            run = [lead]  # "Model Y": a common sentence-initial word before a lone capital
        lead = (token, "lead", start) if kind is None and token[0].isupper() else None
        if kind is not None:
            if not (run and adjacent):
                _flush(prose, run, terms)
                run, pending = [], []
            run.extend(pending + [(token, kind, start)])
            pending = []
        elif run and adjacent and token.lower() in _CONNECTORS and len(pending) < 2:
            pending.append((token, "connector", start))
        else:
            _flush(prose, run, terms)
            run, pending = [], []
        last_end = m.end()
    _flush(prose, run, terms)
    return tuple(terms)


def _flush(prose: str, run: list[tuple[str, str, int]], terms: list[EnglishTerm]) -> None:
    """Append ``run`` to ``terms`` unless it is only lone capital letters."""
    if not run or {kind for _, kind, _ in run} <= {"letter"}:
        return
    start, end = run[0][2], run[-1][2] + len(run[-1][0])
    terms.append(EnglishTerm(prose[start:end], tuple(tok for tok, kind, _ in run if kind != "connector"),
                             start, initial=run[0][1] == "initial"))


@lru_cache(maxsize=2048)
def _cjk_names(source: str | None) -> frozenset[str]:
    if not source:
        return frozenset()
    return frozenset(name for zh, names in CJK_PROPER_NOUNS.items() if zh in source for name in names)


def _plain_forms(word: str) -> set[str]:
    lower = word.lower().replace("’", "'")
    if lower.endswith("'s"):
        lower = lower[:-2]
    load_tables()
    forms = {lower, *(lemma for group in getAllLemmas(lower).values() for lemma in group)}
    if lower.endswith("s") and len(lower) > 3:
        forms.add(lower[:-1])
    return forms


def _part_supported(part: str, evidence: Support, cjk: frozenset[str]) -> bool:
    if part.lower() in _ALWAYS_OK:
        return True
    part = next((part[len(p):] for p in _PREFIXES if part.lower().startswith(p)), part)
    key = squash(part.rstrip("'’sS") if part[-2:] in ("'s", "’s") else part)
    variants = {key, key[:-1]} if key.endswith("s") and len(key) > 3 else {key}
    short = 3 if any(c.isdigit() or c in "-." for c in part) else 4  # "D-3D" in "2D-3D"
    if any(len(v) >= short and v in evidence.squashed for v in variants):
        return True
    forms = _plain_forms(part) | variants
    if forms & (evidence.words | evidence.hyphenated | cjk):
        return True
    return any(_prefix_related(f, w) for f in forms if len(f) >= 5 for w in evidence.words
               if w[:5] == f[:5])


def _prefix_related(a: str, b: str) -> bool:
    """"Bayes" ~ "Bayesian", "Transformer" ~ "Transformers": one a prefix of the other,
    at most 4 letters apart."""
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and len(long_) - len(short) <= 4


_ACRONYM = re.compile(r"[A-Z]{2,6}s?")


def _initials_in(acronym: str, text: str) -> bool:
    """True when consecutive words of ``text`` start with the letters of ``acronym``
    ("QA" ~ "question and answer", stop words inside skipped)."""
    letters = acronym.rstrip("s").lower()
    initials = [w[0] for w in re.findall(r"[a-z]+", text.lower()) if w not in ("and", "of", "the", "for", "to", "a")]
    joined = "".join(initials)
    return len(letters) >= 2 and letters in joined


def _hyphen_supported(part: str, evidence: Support, cjk: frozenset[str]) -> bool:
    """"ChatGPT-based", "macro-F1": a hyphenated name is supported when its name-like pieces
    are (its lower-case dictionary pieces -- "based", "macro" -- are ordinary words)."""
    pieces = [p for p in part.split("-") if p]
    names = [p for p in pieces if not (p.islower() and p.isalpha())]
    return 0 < len(names) < len(pieces) and all(_part_supported(p, evidence, cjk) for p in names)


def _initial_supported(term: EnglishTerm, evidence: Support, glossed: frozenset[str]) -> bool:
    """A rare capitalised word that starts a sentence ("Dataset ...", "Multimode ...") is an
    ordinary word when the paper has it in any form (stem) or a source word glosses to it."""
    if len(term.parts) != 1 or not term.parts[0].isalpha():
        return False
    info = word_info(term.parts[0].lower())
    return bool(info.stems & evidence.stems) or bool({s[:ROOT] for s in info.stems} & glossed)


def term_supported(term: EnglishTerm, evidence: Support, source: str | None = None,
                   glossed: frozenset[str] = frozenset()) -> bool:
    """True when the whole ``term`` occurs in ``evidence`` (squashed), or every part does; an
    acronym also when the source's dictionary glosses have words with its initials; a rare
    sentence-initial word when the paper or a gloss (roots ``glossed``) has it."""
    cjk = _cjk_names(source)
    if len(term.parts) > 1 and len(squash(term.text)) >= 4 and squash(term.text) in evidence.squashed:
        return True
    if all(_part_supported(part, evidence, cjk) or ("-" in part and _hyphen_supported(part, evidence, cjk))
           for part in term.parts):
        return True
    if term.initial and _initial_supported(term, evidence, glossed):
        return True
    return bool(source) and bool(_ACRONYM.fullmatch(term.text)) and _initials_in(term.text, source_glossary(source))
