"""Render a digest in the canonical Markdown template (the seed's, i.e. upstream's ``to_md`` output).

Layout, byte for byte as ``shared/data/seed-digest.md``::

    <div id=toc></div>\\n\\n# Table of Contents\\n\\n
    - [cs.CV](#cs.CV) [Total: 36]\\n ...            one line per section
    \\n\\n
    <div id='cs.CV'></div>\\n\\n# cs.CV [[Back]](#toc)\\n\\n
    <paper block>\\n\\n<paper block> ...            sections joined by \\n\\n as well

Papers are grouped by section (the digest's category order first) and numbered 1..N across the whole
file. Fields that are None are left out; ``extra`` fields are not part of the template and are not
rendered. Abstract paragraphs are written as arXiv writes them (``\\n  ``), field paragraphs with a
blank line, so that :func:`pipeline.parse.parse_digest` reads the output back unchanged.

Safety, whatever the input held: a paper's link is always ``https://arxiv.org/abs/<id>[vN]``
(:func:`pipeline.parse.ids.abs_url`), and only arXiv category names
(:func:`pipeline.parse.ids.is_arxiv_category`) become ``<div id=...>`` anchors and ``(#...)``
links; another section name is written as escaped text, without either. With ``escape=True`` (the
English digest, :func:`pipeline.output.writer.render_english`) every text written into the
Markdown (title, authors, category, fields, abstract) has ``& < >`` and the link brackets ``[ ]``
replaced by character references, so no ``<script>``, ``<img onerror=...>``, ``</details>`` or
``[x](javascript:...)`` from a digest or a model reaches a page as markup (CommonMark 0.31,
"Entity and numeric character references": a reference is always literal text, never structure).
Without it text is written as parsed, which keeps the byte-for-byte round trip of upstream digests
(those write ``p<0.002`` and ``M&Ms`` raw).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

from jinja2 import Environment, StrictUndefined

from pipeline.models import SUMMARY_FIELDS, Digest, Paper
from pipeline.parse.ids import abs_url, is_arxiv_category

_LABELS = {"tldr": "TL;DR", "motivation": "Motivation", "method": "Method", "result": "Result",
           "conclusion": "Conclusion", "category": "Main category", "abstract": "Abstract"}
_UNSECTIONED = "Uncategorized"
#: Characters replaced by references in escaped text: HTML's three, and Markdown's link brackets.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "&#91;", "]": "&#93;"})

_PAPER_TEMPLATE = """\
### [{{ index }}] [{{ title }}]({{ url }})
*{{ authors }}*
{% for label, text in head %}

{{ label }}: {{ text }}
{% endfor %}


<details>
  <summary>Details</summary>
{% for label, text in body %}
{{ label }}: {{ text }}

{% endfor %}
</details>
"""

_ENV = Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                   undefined=StrictUndefined)
_PAPER = _ENV.from_string(_PAPER_TEMPLATE)


def render_markdown(digest: Digest, texts: dict[str, dict[str, str | None]] | None = None, *,
                    escape: bool = False) -> str:
    """Return the digest as Markdown text in the canonical template.

    ``texts`` maps ``arxiv_id -> {field: text}`` for SUMMARY_FIELDS (e.g. the English translation).
    When given, it replaces a paper's parsed fields wholesale: a field missing from it or None is
    left out, so no source-language text leaks into an English digest. Without ``texts`` the parsed
    fields are rendered. ``escape`` writes every text as literal text (see the module docstring).
    Parsing the seed and rendering it (without ``escape``) gives the seed back byte for byte.
    """
    counter = count(1)
    text = _escape if escape else str
    sections = _sections(digest)
    toc = "".join(f"- {_toc_link(name)} [Total: {len(papers)}]\n" for name, papers in sections)
    blocks = [_section_head(name)
              + "\n\n".join(_paper_block(paper, next(counter), texts, text) for paper in papers)
              for name, papers in sections]
    return f"<div id=toc></div>\n\n# Table of Contents\n\n{toc}\n\n" + "\n\n".join(blocks)


def _escape(text: str) -> str:
    """``text`` as literal Markdown text: ``& < > [ ]`` as character references."""
    return text.translate(_ESCAPES)


def _anchored(name: str) -> bool:
    """Whether a section name may be an anchor: an arXiv category name, or our own fallback."""
    return name == _UNSECTIONED or is_arxiv_category(name)


def _toc_link(name: str) -> str:
    """A table-of-contents entry: a link to the section's anchor, or plain text without one."""
    return f"[{name}](#{name})" if _anchored(name) else _escape(name)


def _section_head(name: str) -> str:
    """The anchor and heading that start a section (no anchor for a name that is no category)."""
    if _anchored(name):
        return f"<div id='{name}'></div>\n\n# {name} [[Back]](#toc)\n\n"
    return f"# {_escape(name)} [[Back]](#toc)\n\n"


def _sections(digest: Digest) -> list[tuple[str, list[Paper]]]:
    """Papers grouped by section, sections in the digest's category order, then as first seen."""
    groups: dict[str, list[Paper]] = {name: [] for name in digest.categories}
    for paper in digest.papers:
        groups.setdefault(paper.section or paper.category or _UNSECTIONED, []).append(paper)
    return [(name, papers) for name, papers in groups.items() if papers]


def _paper_block(paper: Paper, index: int, texts: dict[str, dict[str, str | None]] | None,
                 text: Callable[[str], str]) -> str:
    """One paper in the template, with ``texts[paper.arxiv_id]`` as its fields when given;
    every text passed through ``text`` (escaping or not)."""
    fields = paper.fields if texts is None else texts.get(paper.arxiv_id, {})
    values = {name: fields.get(name) for name in SUMMARY_FIELDS}
    values.update(category=paper.category, abstract=paper.abstract or None)
    values = {name: None if value is None else text(value) for name, value in values.items()}
    head = _labelled(values, ("category", "tldr"), paragraph="\n\n")
    body = _labelled(values, ("motivation", "method", "result", "conclusion"), paragraph="\n\n")
    body += _labelled(values, ("abstract",), paragraph="\n  ")
    return _PAPER.render(index=index, title=text(paper.title), url=abs_url(paper.arxiv_id, paper.url),
                         authors=text(",".join(paper.authors)), head=head, body=body)


def _labelled(values: dict[str, str | None], names: tuple[str, ...], paragraph: str) -> list[tuple[str, str]]:
    """``(label, text)`` pairs for the present values, paragraph breaks written as ``paragraph``."""
    return [(_LABELS[name], values[name].replace("\n", paragraph))
            for name in names if values.get(name) is not None]
