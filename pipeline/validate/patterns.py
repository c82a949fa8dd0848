"""Failure, refusal, preamble, template text and echoed validator notes that must never be
shipped as a field.

:func:`find_placeholders` returns ``(kind, matched text)`` pairs; every kind is an error for the
``placeholder`` check. :func:`source_failure` recognises a *source* field that is itself an
upstream failure sentinel (such a field should not have been sent to a translator at all).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["find_placeholders", "source_failure"]

_I = re.IGNORECASE

_FAILURE = re.compile(
    r"\b(?:summary|tl;?dr|motivation|method|result|conclusion|translation|processing|"
    r"generation|extraction)(?:\s+(?:generation|extraction))?\s+failed\b"
    r"|\b(?:summary|translation|tl;?dr|text|output|field|content|response)\s+(?:could|can)\s*not\s+be\s+"
    r"(?:generated|translated|summari[sz]ed|extracted|processed|produced)\b"
    r"|\bunable\s+to\s+(?:generate|provide|produce|translate|summari[sz]e)\s+(?:a|an|the|this|any)?\s*"
    r"(?:summary|translation|tl;?dr|response)\b"
    r"|\bno\s+(?:summary|translation|tl;?dr)\s+(?:is\s+)?(?:available|generated|provided)\b",
    _I,
)
_REFUSAL = re.compile(
    r"\bas\s+an?\s+(?:ai|language\s+model|large\s+language\s+model|assistant|llm)\b"
    r"|\bI(?:'m|\s+am)\s+(?:sorry|unable|not\s+able)\b|\bI\s+(?:cannot|can't|can\s+not|won't|will\s+not)\b"
    r"|\bI\s+apologi[sz]e\b|\bsorry,?\s+but\b",
    _I,
)
_PREAMBLE = re.compile(
    r"\b(?:here|below)(?:'s|\s+is|\s+are)\s+(?:the|a|an|my|your)\b[^.:\n]{0,40}?"
    r"\b(?:translation|summary|summaries|tl;?dr|english\s+version|version|rewrite|text)\b"
    r"|^\s*(?:sure|certainly|of\s+course|okay|ok|absolutely)\b\s*[!,.:]"
    r"|\bthe\s+(?:english\s+)?translation\s+(?:is|reads|would\s+be)\s*:"
    r"|\bI\s+(?:have\s+)?(?:translated|summari[sz]ed)\b",
    _I,
)
# A prompt label at the start of a line ("Translation:", "English:", "TL;DR:") or a few-shot
# language label anywhere ("... accuracy. Chinese: 我们...").
_LABEL = re.compile(
    r"(?m)^\s*(?:translation|translated\s+text|english|chinese|source|target|input|output|original|"
    r"answer|response|summary|tl;?dr|motivation|method|result|conclusion|abstract|中文|英文|原文|译文|翻译|摘要)"
    r"\s*[:：]"
    r"|\b(?:Chinese|English|Japanese|Korean)(?:\s+(?:text|sentence|translation|version))?\s*[:：]"
    r"(?=\s*[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af])"
    r"|(?<=[.!?。]\s)(?:Chinese|English|Japanese|Korean)(?:\s+(?:text|sentence|translation|version))?\s*[:：]"
    r"|(?:中文|英文|原文|译文)\s*[:：]",
    _I,
)
_TEMPLATE = re.compile(r"\{\{\s*[A-Za-z_][\w.]*\s*\}\}|(?<![\\\w^_}])\{[a-z_][a-z0-9_]{1,30}\}")
_MARKERS = re.compile(
    r"\bTODO\b|\bTBD\b|\bFIXME\b|\blorem\s+ipsum\b|\[\s*(?:\.\.\.|…)\s*\]|<unk>|<\|[a-z_]+\|>"
    r"|</?s>|\[/?INST\]|<(?:start|end)_of_turn>|<(?:eos|bos|pad)>"
)
# The validator's own notes, echoed from a repair prompt: a check name with an underscore (never
# an English word), "- <check>:" as in the prompt's note list, or a phrase of a note's message.
_NOTES = re.compile(
    r"\b(?:numbers_preserved|terms_preserved|residual_cjk|latex_balance|invented_numbers|source_missing|"
    r"source_failed)\b"
    r"|(?:^|\s)-\s*(?:placeholder|unchanged|length|language|schema)\s*:"
    r"|\bfrom\s+the\s+source\s+is\s+missing\b|\bis\s+not\s+in\s+the\s+source\b"
    r"|\bappears\s+in\s+neither\s+the\s+abstract\b",
    _I,
)
_WHOLE = re.compile(
    r"^\W*(?:n/?a|none|null|nil|nan|tbd|todo|unknown|empty|placeholder|not\s+applicable|"
    r"no\s+(?:summary|translation|content)|\.\.\.|…|-+)\W*$",
    _I,
)
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]", re.S)

#: (kind, regex, lower-case substrings of which at least one must occur for the regex to run)
_KINDS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    ("failure text", _FAILURE, ("fail", "not be", "unable", "no ")),
    ("refusal/meta text", _REFUSAL, ("as a", "i'm", "i am", "i can", "i won", "i will", "apolog",
                                     "sorry")),
    ("preamble", _PREAMBLE, ("here", "below", "sure", "certainly", "course", "ok", "absolutely",
                             "translation is", "translation reads", "translation would",
                             "translated", "summarized", "summarised")),
    ("prompt label", _LABEL, (":", "：")),
    ("unrendered template", _TEMPLATE, ("{",)),
    ("placeholder marker", _MARKERS, ("todo", "tbd", "fixme", "lorem", "[", "<")),
    ("echoed validator note", _NOTES, ("_", "-", "source", "neither")),
)


def find_placeholders(text: str) -> list[tuple[str, str]]:
    """``(kind, matched text)`` for each placeholder pattern found in ``text`` (first match per kind).

    LaTeX math is ignored (``$\\mathcal{L}_{kl}$`` is not a template). A text that *is* only a
    placeholder (``N/A``, ``None``, ``...``, ``-``) gives ``("placeholder", text)``.
    """
    if len(text) < 40 and _WHOLE.match(text):
        return [("placeholder", text.strip())]
    prose = _MATH.sub(" ", text) if "$" in text or "\\" in text else text
    lowered = prose.lower()
    found = []
    for kind, regex, hints in _KINDS:
        m = regex.search(prose) if any(h in lowered for h in hints) else None
        if m:
            found.append((kind, m.group().strip()))
    return found


@lru_cache(maxsize=1024)
def source_failure(source: str | None) -> str | None:
    """The failure sentinel when the *source* field is one (``Summary generation failed``,
    ``N/A``, ``{tldr}``, refusal text), else None."""
    if not source or not source.strip():
        return None
    stripped = source.strip()
    if _WHOLE.match(stripped):
        return stripped
    for regex in (_FAILURE, _REFUSAL, _TEMPLATE):
        m = regex.search(stripped)
        if m and len(stripped) < 120:
            return m.group()
    return None
