"""Off-topic replies (issue 11, item 12): preambles, restated instructions, no shared content.

Three cheap signals that a model answered something other than "this field of this paper", each
an error: :func:`check_preamble`, :func:`check_restated_instruction` and :func:`check_off_topic`
(signature of every content check, see :mod:`pipeline.validate.content`).
:func:`prompt_text` turns a prompt file into the plain text the prompt-aware checks compare with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from pipeline.models import ValidationIssue
from pipeline.validate.bilingual import ROOT, source_roots
from pipeline.validate.vocab import content_words, paper_words, support, supported, word_info, words

__all__ = ["check_preamble", "check_restated_instruction", "check_off_topic", "prompt_text",
           "ECHO_WORDS"]

_I = re.IGNORECASE
_START = r"(?:^|(?<=[.!?:])\s+|\n)\W*"
# Assistant talk: an interjection opening the reply, "Here is the summary", role statements.
_PREAMBLE = re.compile(
    _START + r"(?:sure|certainly|of\s+course|absolutely|okay|ok|great|gladly|alright|no\s+problem)"
    r"\s*(?:[!,.:]|\s+(?:here|i|let|this|the\s+following)\b)"
    r"|" + _START + r"here(?:'s|’s|\s+is|\s+are)\s+(?:the|a|an|your|my|one)\b"
    r"|" + _START + r"as\s+an?\s+(?:ai|artificial\s+intelligence|(?:large\s+)?language\s+model|llm|"
    r"chatbot|(?:helpful\s+)?assistant|translator)\b"
    r"|\bi(?:'m|’m|\s+am)\s+(?:happy|glad|delighted|here)\s+to\b|\bi(?:'d|’d|\s+would)\s+be\s+(?:happy|glad)\b"
    r"|\bi\s+hope\s+(?:this|that|it)\s+helps\b|\blet\s+me\s+know\b|\bfeel\s+free\s+to\b"
    r"|\bhappy\s+to\s+help\b|\b(?:i|we)\s+(?:will|'ll|’ll|can)\s+(?:now\s+)?(?:translate|summari[sz]e|help)\b",
    _I,
)
# Instructions as a prompt (or an injection) would phrase them.
_INSTRUCTION = re.compile(
    r"\b(?:please\s+)?(?:write|compose|create|generate)\s+(?:me\s+)?(?:a|an|the|some|one)\s+"
    r"(?:\w+\s+)?(?:poem|story|song|essay|haiku|joke|limerick|letter|tweet|email|recipe|rap)\b"
    r"|\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?"
    r"(?:previous|prior|above|earlier|preceding|former|original|system)\s+"
    r"(?:instructions?|prompts?|rules|directions|messages?|text)\b"
    r"|\b(?:reveal|print|show|output|repeat|display|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+"
    r"(?:system\s+|hidden\s+|original\s+)?(?:prompt|instructions)\b"
    r"|\byou\s+are\s+(?:now\s+)?(?:a|an)\s+(?:helpful\s+|friendly\s+)?(?:assistant|ai|chatbot|"
    r"translator|language\s+model)\b"
    r"|" + _START + r"(?:please\s+)?(?:act|pretend)\s+(?:as|to\s+be|like)\b"
    r"|" + _START + r"(?:please\s+)?(?:translate|summari[sz]e|rewrite|paraphrase)\s+"
    r"(?:the\s+(?:following|above|text|paper|abstract|sentence)|this\b|these\b|it\s+into|into\s+english)",
    _I,
)
OFF_TOPIC_MIN_WORDS = 4
"""Texts with fewer content words (number words aside) are too short to call off topic."""
_PREAMBLE_HINTS = ("sure", "certain", "course", "absolute", "okay", "ok", "great", "glad", "alright",
                   "problem", "here", "as a", "as an", "happy", "delight", "hope", "let me",
                   "feel free", "help", "i will", "i'll", "i can", "we will", "we can", "i’ll")
_INSTRUCTION_HINTS = ("write", "compose", "create", "generate", "ignore", "disregard", "forget",
                      "override", "reveal", "print", "show", "output", "repeat", "display", "tell",
                      "you are", "act", "pretend", "translate", "summar", "rewrite", "paraphrase")
ECHO_WORDS = 6
"""A reply that repeats this many words in a row of the prompt's own text (not of the paper)
restates the prompt."""
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def _issue(field: str, check: str, message: str) -> ValidationIssue:
    return ValidationIssue(field=field, check=check, severity="error", message=message)


def prompt_text(prompt: Any) -> str:
    """The literal text of a prompt -- a :class:`~pipeline.prompts.PromptTemplate` (its
    ``template`` or every message's ``content``) or a template string -- with Jinja2 tags
    (``{{ source }}``, ``{% if %}``) removed: the instructions and few-shot examples the model
    saw, for ``fewshot_leak`` and ``restated_instruction``."""
    if isinstance(prompt, str):
        parts: Iterable[str] = [prompt]
    else:
        parts = [prompt.template] if getattr(prompt, "template", None) else \
            [m.content for m in getattr(prompt, "messages", None) or []]
    return "\n".join(_JINJA.sub(" ", part) for part in parts)


def check_preamble(field: str, text: str, source: str | None, abstract: str | None,
                   title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``preamble`` (error): assistant or role-play talk -- an interjection opening the reply
    ("Sure!", "Certainly, here"), "Here is the ...", "As an AI ...", "I hope this helps",
    "Let me know", "I will translate"."""
    lowered = text.lower()
    m = _PREAMBLE.search(text) if any(h in lowered for h in _PREAMBLE_HINTS) else None
    if not m:
        return []
    return [_issue(field, "preamble", f'reply contains assistant talk "{m.group().strip()[:60]}"')]


@lru_cache(maxsize=64)
def _windows(text: str) -> frozenset[tuple[str, ...]]:
    found = words(text)
    return frozenset(tuple(found[i:i + ECHO_WORDS]) for i in range(len(found) - ECHO_WORDS + 1))


def _echo(text: str, prompt: str, paper: str) -> str | None:
    """The first :data:`ECHO_WORDS`-word run of ``text`` that is in ``prompt`` but not ``paper``."""
    theirs, ours = _windows(prompt), words(text)
    for i in range(len(ours) - ECHO_WORDS + 1):
        window = tuple(ours[i:i + ECHO_WORDS])
        if window in theirs and window not in _windows(paper):
            return " ".join(window)
    return None


def check_restated_instruction(field: str, text: str, source: str | None, abstract: str | None,
                               title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``restated_instruction`` (error): the reply phrases an instruction ("Write a poem about
    the sea", "Ignore previous instructions", "Summarize the paper above", "You are a helpful
    assistant") or repeats :data:`ECHO_WORDS` words in a row of the prompt's text ``fewshot``
    that are not in the paper (abstract, title)."""
    lowered = text.lower()
    m = _INSTRUCTION.search(text) if any(h in lowered for h in _INSTRUCTION_HINTS) else None
    if m:
        return [_issue(field, "restated_instruction",
                       f'reply restates an instruction: "{m.group().strip()[:60]}"')]
    echoed = _echo(text, fewshot, f"{title or ''}\n{abstract or ''}") if fewshot else None
    if echoed:
        return [_issue(field, "restated_instruction", f'reply repeats the prompt: "{echoed}"')]
    return []


def check_off_topic(field: str, text: str, source: str | None, abstract: str | None,
                    title: str | None, fewshot: str | None = None) -> list[ValidationIssue]:
    """``off_topic`` (error): ``text`` has at least :data:`OFF_TOPIC_MIN_WORDS` content words
    but not one (stop words and meta words such as "paper" aside; stems and lemmas compared) in
    common with the abstract, the title, the source's Latin-script words or the dictionary
    glosses of its Chinese words. Quiet without abstract and title."""
    paper = paper_words(abstract, title)
    if paper is None:
        return []
    written = content_words(text)
    if any(w in paper for w in written):  # a word of the abstract or title, as written: on topic
        return []
    evidence = support(source, abstract, title)
    mine = [w for w in written if not word_info(w).number]
    glossed = source_roots(source) if source else frozenset()
    if len(set(mine)) < OFF_TOPIC_MIN_WORDS or any(
            supported(w, evidence) or {s[:ROOT] for s in word_info(w).stems} & glossed for w in mine):
        return []
    shown = ", ".join(f'"{w}"' for w in list(dict.fromkeys(mine))[:6]) or "none"
    return [_issue(field, "off_topic",
                   f"no content word in common with the abstract and title (content words: {shown})")]
