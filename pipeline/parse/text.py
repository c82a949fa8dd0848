"""Joining source lines into field text: hard-wrapped lines versus paragraphs.

The rule is arXiv's own metadata layout (the ``summary`` of the arXiv API and of the digests' JSONL
files): an abstract is hard-wrapped at about 80 columns with plain ``\\n``, and a new paragraph
starts with ``\\n`` followed by indentation (``\\n  ``). The seed digest keeps exactly that layout
for its 6 multi-paragraph abstracts (continuation lines indented by two spaces), and the KAFKA2306 /
sanghyun-son / astro-ph forks keep the hard wraps. So:

* an unindented line continues the current paragraph (joined with one space);
* an indented line, or any line after a blank line, starts a new paragraph (joined with ``\\n``).

Text is otherwise kept verbatim (LaTeX, Markdown, punctuation); only line-edge whitespace goes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable


def join_abstract(lines: Iterable[str]) -> str:
    """Join raw abstract lines: ``["a", "b", "  c"]`` -> ``"a b\\nc"``. Blank lines break paragraphs."""
    paragraphs: list[list[str]] = []
    broken = True
    for line in lines:
        if not line.strip():
            broken = True
            continue
        if broken or line[:1].isspace():
            paragraphs.append([])
        paragraphs[-1].append(line.strip())
        broken = False
    return "\n".join(" ".join(words) for words in paragraphs)


def join_field(lines: Iterable[str]) -> str:
    """Join the lines of a labelled field: wrapped lines with a space, blank-separated ones with ``\\n``.

    Indentation does not start a paragraph here: arXiv wraps titles and comments as ``\\n  `` too.
    """
    paragraphs: list[list[str]] = []
    broken = True
    for line in lines:
        if not line.strip():
            broken = True
            continue
        if broken:
            paragraphs.append([])
        paragraphs[-1].append(line.strip())
        broken = False
    return "\n".join(" ".join(words) for words in paragraphs)


def one_line(text: str) -> str:
    """Collapse all whitespace runs (including arXiv's ``\\n  `` title wraps) to single spaces."""
    return " ".join(text.split())


def split_authors(text: str) -> list[str]:
    """``"A,B"`` / ``"A, B"`` / ``"['A', 'B']"`` (a Python list written as text) -> ``["A", "B"]``."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [one_line(item) for item in value if item.strip()]
    return [one_line(item) for item in text.split(",") if item.strip()]
