"""Steps shared by both parsers: complete a paper's fields, mark their problems, drop duplicates."""

from __future__ import annotations

from pipeline.models import SUMMARY_FIELDS, Paper, ParseWarning
from pipeline.parse.problems import source_problem


def finish_fields(paper: Paper) -> Paper:
    """Give ``paper.fields`` every SUMMARY_FIELDS key (None when absent or blank) and record in
    ``paper.source_problems`` why a field is not content (see :mod:`pipeline.parse.problems`).

    Problems already recorded (e.g. ``truncated``) are kept. Returns the same paper, updated.
    """
    for name in SUMMARY_FIELDS:
        raw = paper.fields.get(name)
        problem = source_problem(raw)
        paper.fields[name] = raw if raw and raw.strip() else None
        if problem and name not in paper.source_problems:
            paper.source_problems[name] = problem
    ordered = {name: paper.fields[name] for name in SUMMARY_FIELDS}
    paper.fields = ordered
    return paper


def drop_duplicates(papers: list[Paper], warnings: list[ParseWarning]) -> list[Paper]:
    """Keep the first paper of each arXiv id, in input order; warn (with both lines) for each later copy."""
    first: dict[str, Paper] = {}
    kept: list[Paper] = []
    for paper in papers:
        original = first.get(paper.arxiv_id)
        if original is None:
            first[paper.arxiv_id] = paper
            kept.append(paper)
            continue
        same = _content(original) == _content(paper)
        note = "identical copy" if same else "copy with different text"
        warnings.append(ParseWarning(
            line=paper.line, paper_id=paper.arxiv_id,
            message=f"duplicate of the paper at line {original.line} ({note}); kept the first"))
    return kept


def _content(paper: Paper) -> tuple:
    """What two copies of a paper must share to count as identical."""
    return (paper.title, paper.authors, paper.abstract, paper.fields, paper.extra)
