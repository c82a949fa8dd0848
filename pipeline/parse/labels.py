"""Labelled lines of a Markdown digest (``TL;DR: ...``, ``**Method:** ...``) and what a label means.

Label spellings seen in ``shared/data`` (seed, real forks, synthetic 21): plain ``TL;DR: x``, bold
``**TL;DR:** x``, colon outside the bold ``**TL;DR**: x``, label and value in one bold span
``**Main category: cs.CL**``, any of them blockquoted (``> **TL;DR:** x``), full-width colon ``：``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.models import FIELD_LABELS

_QUOTE = re.compile(r"^(?:>\s?)+")
_BOLD_LABEL = (
    re.compile(r"^\*\*(?P<label>[^*:：]+?)\s*[:：]\s*\*\*\s*(?P<value>.*)$"),     # **TL;DR:** x
    re.compile(r"^\*\*(?P<label>[^*:：]+?)\*\*\s*[:：]\s*(?P<value>.*)$"),        # **TL;DR**: x
    re.compile(r"^\*\*(?P<label>[^*:：]+?)\s*[:：]\s*(?P<value>[^*]*?)\s*\*\*$"),  # **Main category: x**
)
# Plain labels: 1-4 words starting with an ASCII letter, then ": " (or end of line) or "：".
_PLAIN_LABEL = re.compile(
    r"^(?P<label>[A-Za-z][\w;&/-]*(?: [\w;&/-]+){0,3}?)\s*(?::(?=\s|$)|：)\s*(?P<value>.*)$")
# Non-Latin labels accepted without bold (others need bold, so prose like "其中：" is not a label).
_PLAIN_CJK = re.compile(r"^(?P<label>摘要翻译|标题翻译|关键词|摘要|评论|备注)\s*[:：]\s*(?P<value>.*)$")

#: Label (lower case) -> where it goes: a SUMMARY_FIELDS name, ``abstract``, ``category``, ``authors``.
#: ``Task`` is the KAFKA2306 fork's (and the earliest upstream JSONL schema's) one-sentence
#: summary written where TL;DR is, so it is read as ``tldr`` unless the paper also has a TL;DR.
#: ``Background`` is the astro-ph fork's (Straw674) field where the others write Motivation (why
#: the work was done), read as ``motivation`` likewise; its ``Data`` field has no counterpart and
#: stays in ``extra``.
KNOWN_LABELS: dict[str, str] = {
    **FIELD_LABELS, "tl; dr": "tldr", "tl-dr": "tldr", "task": "tldr", "background": "motivation",
    "abstract": "abstract", "main category": "category", "category": "category",
    "authors": "authors", "author": "authors",
}


@dataclass(frozen=True)
class Label:
    """A labelled line: ``name`` as written, ``value`` after the colon, ``bold`` if marked up."""

    name: str
    value: str
    bold: bool


def unquote(line: str) -> str:
    """The line without a leading Markdown blockquote marker (``> ``, ``> > ``)."""
    return _QUOTE.sub("", line, count=1)


def match_label(line: str) -> Label | None:
    """Return the label of ``line`` (blockquote allowed), or None when it is not a labelled line."""
    text = unquote(line.strip())
    for pattern in _BOLD_LABEL:
        if match := pattern.match(text):
            return Label(match["label"].strip(), match["value"].strip(), True)
    if match := _PLAIN_LABEL.match(text) or _PLAIN_CJK.match(text):
        return Label(match["label"].strip(), match["value"].strip(), False)
    return None


def is_bold_label(line: str) -> bool:
    """True for a bold (Markdown) label line: never part of an author-written abstract."""
    label = match_label(line)
    return label is not None and label.bold


def canonical(label: str) -> str | None:
    """``"TL;DR"`` -> ``"tldr"``, ``"Abstract"`` -> ``"abstract"``; None for labels that go to extra."""
    return KNOWN_LABELS.get(" ".join(label.lower().split()))
