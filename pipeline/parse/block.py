"""One paper entry of a Markdown digest: the lines after ``### [N] [Title](url)`` up to the next heading.

Template (seed / upstream ``dw-dengwei/daily-arXiv-ai-enhanced``)::

    ### [1] [Title](https://arxiv.org/abs/2601.16272)
    *Author A,Author B*

    Main category: cs.CV

    TL;DR: ...

    <details>
      <summary>Details</summary>
    Motivation: ...
    ...
    Abstract: ...

    </details>

Forks move or restyle these lines (see :mod:`pipeline.parse.labels`); the reader keys on labels, not
on positions. Once ``Abstract:`` has started, only structural lines end it (``<details>``,
``</details>``, a bold Markdown label, the next heading): author-written abstracts contain lines such
as ``Method: ...`` or ``TL;DR: ...`` (synthetic 22) that are text, not fields.

Upstream's first template (March 2025) had no labelled fields at all: a paper was its heading, its
authors and ``<details><summary>Abstract</summary>`` ... ``</details>`` (tags on one line or two,
the text on the following lines or on the same line). A ``<summary>`` whose text is a known label
(``Abstract``) opens that field; the text up to ``</details>`` is its value, so an abstract line
such as ``real-time rendering: the viewer ...`` stays abstract text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.models import SUMMARY_FIELDS
from pipeline.parse.labels import canonical, is_bold_label, match_label, unquote
from pipeline.parse.text import join_abstract, join_field, split_authors

_AUTHORS = re.compile(r"^\*(?!\*)(?P<authors>.+?)\*(?:\s*\|\s*(?P<rest>.+))?$")
_TRANSLATED_TITLE = re.compile(r"^>\s*\*(?!\*)(?P<title>.+)\*$")
# Lines made only of <details ...>, </details> and <summary>...</summary> tags (one or several).
_DETAILS = re.compile(r"^(?:\s*(?:</?details\b[^>]*>|<summary\b[^>]*>.*?</summary>))+\s*$", re.IGNORECASE)
# "<details><summary>Abstract</summary>" (the <details> tag optional), maybe followed by the text
# and by "</details>" on the same line.
_SUMMARY_LABEL = re.compile(
    r"^(?P<open><details\b[^>]*>\s*)?<summary\b[^>]*>\s*(?P<label>[^<]*?)\s*</summary>\s*(?P<rest>.*?)"
    r"\s*(?P<close></details>)?$", re.IGNORECASE)

#: Key in ``Paper.extra`` for the unlabelled translated title line (``> *...*``) and for stray text.
TITLE_TRANSLATION = "title_translation"
UNLABELLED = "unlabelled"


@dataclass
class Entry:
    """A labelled field as found: label as written, its 1-based line, its raw lines (first = value)."""

    label: str
    line: int
    lines: list[str]

    @property
    def key(self) -> str | None:
        return canonical(self.label)


@dataclass
class RawBlock:
    """What one paper entry holds before interpretation."""

    authors: str | None = None
    title_translation: str | None = None
    entries: list[Entry] = field(default_factory=list)
    stray: list[tuple[int, str]] = field(default_factory=list)
    details_opened: bool = False
    details_closed: bool = False


def read_block(lines: list[str], start: int, end: int) -> RawBlock:
    """Collect the entry in ``lines[start:end]`` (0-based; ``start`` is the line after the heading)."""
    block = RawBlock()
    current: Entry | None = None
    for index in range(start, end):
        line = lines[index]
        if current is not None and current.key == "abstract" and not _ends_abstract(line):
            current.lines.append(line)
            continue
        current = _read_line(block, current, line, index + 1)
    return block


def _ends_abstract(line: str) -> bool:
    """A line that cannot belong to an author-written abstract."""
    return bool(_DETAILS.match(line.strip())) or is_bold_label(line)


def _read_line(block: RawBlock, current: Entry | None, line: str, number: int) -> Entry | None:
    """Account for one line outside an abstract; return the entry that later lines continue."""
    stripped = line.strip()
    if (match := _SUMMARY_LABEL.match(stripped)) and canonical(match["label"]) == "abstract":
        return _summary_field(block, match, number)
    if _DETAILS.match(stripped):
        block.details_opened |= "<details" in stripped.lower()
        block.details_closed |= "</details" in stripped.lower()
        return None
    if not stripped:
        if current is not None:
            current.lines.append("")
        return current
    if _header_line(block, stripped, number):
        return None
    if label := match_label(line):
        entry = Entry(label.name, number, [label.value])
        block.entries.append(entry)
        return entry
    if current is not None:
        current.lines.append(unquote(stripped))
    else:
        block.stray.append((number, stripped))
    return current


def _summary_field(block: RawBlock, match: re.Match[str], number: int) -> Entry | None:
    """Open the field a ``<summary>`` names (``<details><summary>Abstract</summary>``).

    Returns the entry that the following lines continue, or None when ``</details>`` closed it on
    the same line.
    """
    block.details_opened |= match["open"] is not None
    entry = Entry(match["label"], number, [match["rest"]])
    block.entries.append(entry)
    if match["close"]:
        block.details_closed = True
        return None
    return entry


def _header_line(block: RawBlock, stripped: str, number: int) -> bool:
    """Take the authors line (``*A,B*``, maybe ``| **Main category: x**``) or a translated title."""
    if block.authors is not None or block.entries:
        return False
    if match := _TRANSLATED_TITLE.match(stripped):
        block.title_translation = match["title"].strip()
        return True
    if match := _AUTHORS.match(stripped):
        block.authors = match["authors"]
        if match["rest"] and (label := match_label(match["rest"])):
            block.entries.append(Entry(label.name, number, [label.value]))
        return True
    return False


@dataclass
class BlockContent:
    """A block's interpreted content, ready to become a :class:`~pipeline.models.Paper`."""

    authors: list[str] = field(default_factory=list)
    category: str | None = None
    fields: dict[str, str | None] = field(default_factory=dict)
    abstract: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    notes: list[tuple[int, str]] = field(default_factory=list)


def interpret(block: RawBlock) -> BlockContent:
    """Map entries to fields/abstract/category/extra. Repeated labels are noted (line, message)."""
    content = BlockContent(authors=split_authors(block.authors or ""))
    if block.title_translation is not None:
        content.extra[TITLE_TRANSLATION] = block.title_translation
    for entry in block.entries:
        _place(content, entry)
    if block.stray:
        content.extra[UNLABELLED] = "\n".join(text for _, text in block.stray)
        content.notes.append((block.stray[0][0], f"unlabelled text kept in extra[{UNLABELLED!r}]"))
    return content


def _place(content: BlockContent, entry: Entry) -> None:
    """Put one entry where it belongs; a second occurrence of a field goes to ``extra``."""
    key = entry.key
    if key == "abstract" and content.abstract is None:
        content.abstract = join_abstract(entry.lines)
    elif key == "category" and content.category is None:
        content.category = join_field(entry.lines) or None
    elif key == "authors" and not content.authors:
        content.authors = split_authors(join_field(entry.lines))
    elif key in SUMMARY_FIELDS and key not in content.fields:
        content.fields[key] = join_field(entry.lines)
    else:
        if key is not None:
            content.notes.append((entry.line, f"second {entry.label!r} field kept in extra"))
        _add_extra(content.extra, entry.label, join_field(entry.lines))


def _add_extra(extra: dict[str, str], label: str, text: str) -> None:
    """``extra[label] = text``, appending as a new paragraph when the label is already there."""
    extra[label] = f"{extra[label]}\n{text}" if extra.get(label) else text
