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
"""

from __future__ import annotations

from itertools import count

from jinja2 import Environment, StrictUndefined

from pipeline.models import SUMMARY_FIELDS, Digest, Paper

_LABELS = {"tldr": "TL;DR", "motivation": "Motivation", "method": "Method", "result": "Result",
           "conclusion": "Conclusion", "category": "Main category", "abstract": "Abstract"}
_UNSECTIONED = "Uncategorized"

_PAPER_TEMPLATE = """\
### [{{ index }}] [{{ paper.title }}]({{ paper.url }})
*{{ paper.authors | join(",") }}*
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


def render_markdown(digest: Digest, texts: dict[str, dict[str, str | None]] | None = None) -> str:
    """Return the digest as Markdown text in the canonical template.

    ``texts`` maps ``arxiv_id -> {field: text}`` for SUMMARY_FIELDS (e.g. the English translation).
    When given, it replaces a paper's parsed fields wholesale: a field missing from it or None is
    left out, so no source-language text leaks into an English digest. Without ``texts`` the parsed
    fields are rendered. Parsing the seed and rendering it gives the seed back byte for byte.
    """
    counter = count(1)
    sections = _sections(digest)
    toc = "".join(f"- [{name}](#{name}) [Total: {len(papers)}]\n" for name, papers in sections)
    blocks = [f"<div id='{name}'></div>\n\n# {name} [[Back]](#toc)\n\n"
              + "\n\n".join(_paper_block(paper, next(counter), texts) for paper in papers)
              for name, papers in sections]
    return f"<div id=toc></div>\n\n# Table of Contents\n\n{toc}\n\n" + "\n\n".join(blocks)


def _sections(digest: Digest) -> list[tuple[str, list[Paper]]]:
    """Papers grouped by section, sections in the digest's category order, then as first seen."""
    groups: dict[str, list[Paper]] = {name: [] for name in digest.categories}
    for paper in digest.papers:
        groups.setdefault(paper.section or paper.category or _UNSECTIONED, []).append(paper)
    return [(name, papers) for name, papers in groups.items() if papers]


def _paper_block(paper: Paper, index: int, texts: dict[str, dict[str, str | None]] | None) -> str:
    """One paper in the template, with ``texts[paper.arxiv_id]`` as its fields when given."""
    fields = paper.fields if texts is None else texts.get(paper.arxiv_id, {})
    values = {name: fields.get(name) for name in SUMMARY_FIELDS}
    values.update(category=paper.category, abstract=paper.abstract or None)
    head = _labelled(values, ("category", "tldr"), paragraph="\n\n")
    body = _labelled(values, ("motivation", "method", "result", "conclusion"), paragraph="\n\n")
    body += _labelled(values, ("abstract",), paragraph="\n  ")
    return _PAPER.render(index=index, paper=paper, head=head, body=body)


def _labelled(values: dict[str, str | None], names: tuple[str, ...], paragraph: str) -> list[tuple[str, str]]:
    """``(label, text)`` pairs for the present values, paragraph breaks written as ``paragraph``."""
    return [(_LABELS[name], values[name].replace("\n", paragraph))
            for name in names if values.get(name) is not None]
