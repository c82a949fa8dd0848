"""Latin-script terms of a CJK source (acronyms, model/dataset/method names) and their presence
in a translation."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["source_terms", "term_present", "is_name_like"]

_TERM = re.compile(
    r"(?<![A-Za-z0-9\\])(?:\d+[A-Za-z]{3,}[A-Za-z0-9]*|[A-Za-z][A-Za-z0-9]*)(?:[-_.][A-Za-z0-9]+)*"
)
_STRIP = re.compile(
    r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\\[A-Za-z]+|https?://\S+|www\.\S+", re.S
)
_SKIP = frozenset("vs etc et al eg ie e.g i.e cf".split())
#: Expansions a faithful translator may use instead of the source's abbreviation.
ALIASES: dict[str, tuple[str, ...]] = {
    "sota": ("state-of-the-art", "state of the art"),
    "vs": ("versus",),
}
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def source_terms(source: str) -> list[str]:
    """Distinct Latin-script tokens of ``source`` (first spelling kept, order of appearance),
    ignoring LaTeX, URLs, single letters and abbreviations like ``etc``."""
    seen: dict[str, str] = {}
    for m in _TERM.finditer(_STRIP.sub(" ", source)):
        term = m.group().rstrip(".")
        key = term.lower()
        if len(term) >= 2 and key not in _SKIP and key not in seen:
            seen[key] = term
    return list(seen.values())


def is_name_like(term: str) -> bool:
    """Acronym / model / dataset name (has a capital after the first letter, or a digit),
    as opposed to an ordinary lower-case word such as ``token``."""
    return any(c.isdigit() for c in term) or any(c.isupper() for c in term[1:]) or term.isupper()


@lru_cache(maxsize=1024)
def _squash(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


def term_present(term: str, text: str) -> bool:
    """Case-insensitive presence of ``term`` in ``text``, tolerant of hyphens/spaces
    (``GPT-4o`` ~ ``GPT 4o``), plurals (``LLM`` ~ ``LLMs``) and :data:`ALIASES`."""
    lowered = text.lower()
    if any(alias in lowered for alias in ALIASES.get(term.lower(), ())):
        return True
    key = _squash(term)
    variants = {key, key[:-1]} if key.endswith("s") and len(key) > 3 else {key}
    squashed = _squash(text)
    for variant in variants:
        if len(variant) >= 4 and variant in squashed:
            return True
        if len(variant) < 4 and _word_present(variant, lowered):
            return True
    return False


_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _word_present(word: str, lowered: str) -> bool:
    """True if ``word`` occurs in ``lowered`` as a whole word, optionally with a plural ``s`` /
    ``es``: the regex ``(?<![a-z0-9])word(?:e?s)?(?![a-z0-9])``, without compiling one per term."""
    start = lowered.find(word)
    while start >= 0:
        if lowered[start - 1:start] not in _ALNUM:  # "" (start of text) is not in it either
            end = start + len(word)
            for tail in ("", "s", "es"):
                after = lowered[end + len(tail):end + len(tail) + 1]
                if lowered.startswith(tail, end) and after not in _ALNUM:
                    return True
        start = lowered.find(word, start + 1)
    return False
