"""The Markdown digest: table of contents, category sections, paper entries.

Document layout (seed and upstream template; forks in ``shared/data/real`` vary the heading levels)::

    <div id=toc></div>
    # Table of Contents
    - [cs.CV](#cs.CV) [Total: 36]
    <div id='cs.CV'></div>
    # cs.CV [[Back]](#toc)            (also "## cs.CV ...", "## <div id='cs.CV'></div> cs.CV ...")
    ### [1] [Title](https://arxiv.org/abs/ID)      (KAFKA2306: "### [Title](url)", no number)

Paper entries are read by :mod:`pipeline.parse.block`. A file with no paper entry is an empty day
when it carries the digest's table of contents or a "no new papers" line, otherwise not a digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.errors import InputError
from pipeline.models import SUMMARY_FIELDS, Digest, Paper, ParseWarning
from pipeline.parse.assemble import drop_duplicates, finish_fields
from pipeline.parse.block import RawBlock, interpret, read_block
from pipeline.parse.ids import abs_url, normalize_arxiv_id
from pipeline.parse.problems import source_problem
from pipeline.parse.source import SourceText
from pipeline.parse.text import one_line

_HEADING = re.compile(r"^#{2,4}\s+(?:\[(?P<index>\d+)\]\s*)?\[(?P<title>.*)\]\((?P<url>[^()\s]+)\)\s*$")
_PAPER_LIKE = re.compile(r"^#{2,4}\s+(?:\[\d+\]\s*)?\[")
_SECTION = re.compile(
    r"^#{1,3}\s+(?:<div id=['\"]?[^'\">]*['\"]?>\s*</div>\s*)?(?P<cat>[^\s\[]+)\s*\[\[Back\]\]\(#toc\)\s*$")
_ANCHOR = re.compile(r"^<div id=['\"]?(?P<cat>[^'\">\s]+)['\"]?>\s*</div>\s*$")
_TOC_ENTRY = re.compile(r"^[-*]\s+\[(?P<cat>[^\]]+)\]\(#[^)]*\)\s*\[Total:\s*(?P<total>\d+)\]\s*$")
_EMPTY_DAY = re.compile(
    r"no new papers|no papers (?:today|found)|没有(?:找到)?新论文|今日无(?:新)?论文|暂无(?:新)?论文",
    re.IGNORECASE)


@dataclass
class _Span:
    """A paper entry: its heading match, 0-based heading index, end (exclusive) and section."""

    heading: re.Match[str]
    start: int
    end: int
    section: str | None


@dataclass
class _Layout:
    """The document-level structure found by :func:`_scan`."""

    last_text_line: int = -1
    spans: list[_Span] = field(default_factory=list)
    toc: dict[str, int] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    has_toc_anchor: bool = False
    says_empty: bool = False
    warnings: list[ParseWarning] = field(default_factory=list)


def parse_markdown(source: SourceText) -> Digest:
    """Parse a Markdown digest into a :class:`Digest` (papers in input order, duplicates dropped).

    Raises:
        InputError: the text has neither paper entries nor the digest's table of contents /
            "no new papers" line, i.e. it is some other Markdown document.
    """
    lines = source.lines
    layout = _scan(lines)
    warnings = layout.warnings
    papers = [paper for span in layout.spans
              if (paper := _paper(lines, span, warnings, source)) is not None]
    if not (layout.toc or layout.has_toc_anchor or layout.says_empty or any(map(_has_content, papers))):
        raise InputError(source.path, "not a digest: no paper entries ('### [N] [Title](arXiv URL)' "
                                      "with TL;DR/Abstract lines) and no digest table of contents")
    _check_counts(layout, len(papers), warnings)
    papers = drop_duplicates(papers, warnings)
    warnings.sort(key=lambda w: (w.line is None, w.line or 0))       # file order, then file-wide
    categories = list(layout.toc) + [s for s in layout.sections if s not in layout.toc]
    return Digest(path=str(source.path), kind="markdown", papers=papers,
                  categories=categories, warnings=warnings)


def _has_content(paper: Paper) -> bool:
    """True when a paper entry carries any digest field (not just a heading linking to arXiv)."""
    return bool(paper.abstract or paper.extra or any(paper.fields.values()))


def _scan(lines: list[str]) -> _Layout:
    """Find the TOC, the sections and the span of every paper entry."""
    layout = _Layout(last_text_line=max((i for i, line in enumerate(lines) if line.strip()), default=-1))
    section: str | None = None
    for index, line in enumerate(lines):
        if not line.startswith(("#", "<", "-", "*")):
            continue
        if match := _HEADING.match(line):
            _close_span(layout, index)
            layout.spans.append(_Span(match, index, len(lines), section))
        elif (match := _SECTION.match(line) or _ANCHOR.match(line)) and match["cat"] != "toc":
            _close_span(layout, index)
            section = match["cat"]
            if section not in layout.sections:
                layout.sections.append(section)
        else:
            _scan_other(layout, lines, index)
    return layout


def _scan_other(layout: _Layout, lines: list[str], index: int) -> None:
    """TOC lines, the empty-day line, and paper headings that do not parse."""
    line = lines[index]
    if match := _TOC_ENTRY.match(line):
        layout.toc[match["cat"]] = layout.toc.get(match["cat"], 0) + int(match["total"])
    elif _ANCHOR.match(line):
        layout.has_toc_anchor = True
    elif line.startswith("#") and _EMPTY_DAY.search(line):
        layout.says_empty = True
    elif _PAPER_LIKE.match(line):
        _close_span(layout, index)
        last = index == layout.last_text_line
        why = "cut off (file is truncated)" if last else "not a '[Title](arXiv URL)' heading"
        layout.warnings.append(ParseWarning(line=index + 1, message=f"paper heading {why}; skipped", skipped=True))


def _close_span(layout: _Layout, index: int) -> None:
    """End the open paper entry (if any) at line ``index``."""
    if layout.spans and layout.spans[-1].end > index:
        layout.spans[-1].end = index


def _paper(lines: list[str], span: _Span, warnings: list[ParseWarning],
           source: SourceText) -> Paper | None:
    """Build the paper of one entry; None (with a warning) when its link is not an arXiv id."""
    heading, line = span.heading, span.start + 1
    try:
        arxiv_id = normalize_arxiv_id(heading["url"])
    except ValueError as exc:
        warnings.append(ParseWarning(line=line, message=f"paper skipped: {exc}", skipped=True))
        return None
    block = read_block(lines, span.start + 1, span.end)
    content = interpret(block)
    warnings.extend(ParseWarning(line=n, paper_id=arxiv_id, message=m) for n, m in content.notes)
    paper = Paper(arxiv_id=arxiv_id, index=int(heading["index"]) if heading["index"] else None,
                  url=abs_url(arxiv_id, heading["url"]), title=one_line(heading["title"]), authors=content.authors,
                  category=content.category or span.section, section=span.section, fields=content.fields,
                  abstract=content.abstract or "", extra=content.extra, line=line)
    _check_paper(paper, content.abstract is None, warnings)
    if span.end == len(lines):
        _check_cut_off(paper, block, span, warnings, source)
    return finish_fields(paper)


def _check_paper(paper: Paper, no_abstract: bool, warnings: list[ParseWarning]) -> None:
    """Warn about a missing abstract; replace a placeholder category (``{cate}``) by the section.

    (A paper without a ``Main category`` line already has its section as category: upstream files
    each paper under its main category.)
    """
    if not paper.title:
        warnings.append(ParseWarning(line=paper.line, paper_id=paper.arxiv_id,
                                     message="the heading has no title (an empty [] link text)"))
    if no_abstract:
        warnings.append(ParseWarning(line=paper.line, paper_id=paper.arxiv_id,
                                     message="no Abstract field"))
    if paper.category is not None and source_problem(paper.category):
        warnings.append(ParseWarning(line=paper.line, paper_id=paper.arxiv_id,
                                     message=f"main category {paper.category!r} is a placeholder; "
                                             f"using the section {paper.section!r}"))
        paper.category = paper.section


def _check_cut_off(paper: Paper, block: RawBlock, span: _Span, warnings: list[ParseWarning],
                   source: SourceText) -> None:
    """The last entry of a truncated file: warn, and mark the field the cut went through.

    Cut off means: ``<details>`` opened but never closed, no field at all after the heading, or a
    last line without its newline that is not ``</details>``.
    """
    unclosed = block.details_opened and not block.details_closed
    mid_line = not source.ends_with_newline and not block.details_closed
    if not (unclosed or mid_line or not block.entries):
        return
    warnings.append(ParseWarning(
        line=span.end, paper_id=paper.arxiv_id,
        message=f"file is cut off inside this paper (heading at line {paper.line}, file ends at "
                f"line {span.end}); kept the part before the cut"))
    key = block.entries[-1].key if block.entries else None
    if key in (*SUMMARY_FIELDS, "abstract"):
        paper.source_problems[key] = ("truncated: the file ends in or right after this field "
                                      f"(line {span.end})")


def _check_counts(layout: _Layout, found: int, warnings: list[ParseWarning]) -> None:
    """Warn when the table of contents promises another number of papers than the entries found."""
    promised = sum(layout.toc.values())
    if layout.toc and promised != found:
        warnings.append(ParseWarning(message=f"table of contents lists {promised} papers, "
                                             f"the file has {found} paper entries"))
    if found == 0:
        warnings.append(ParseWarning(message="digest is empty: no papers (an empty day)"))
