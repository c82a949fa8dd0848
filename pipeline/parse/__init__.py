"""The parse stage: a digest file (Markdown or JSONL) -> :class:`~pipeline.models.Digest`.

Public API::

    parse_digest(path) -> Digest                 # this module
    normalize_arxiv_id(raw) -> str               # pipeline.parse.ids
    safe_filename(arxiv_id) -> str               # pipeline.parse.ids
    source_problem(text) -> str | None           # pipeline.parse.problems (reused by validation)
"""

from __future__ import annotations

from pathlib import Path

from pipeline.models import Digest
from pipeline.parse.ids import normalize_arxiv_id, safe_filename
from pipeline.parse.jsonl import parse_jsonl
from pipeline.parse.markdown import parse_markdown
from pipeline.parse.problems import source_problem
from pipeline.parse.source import detect_kind, read_source

__all__ = ["parse_digest", "normalize_arxiv_id", "safe_filename", "source_problem"]


def parse_digest(path: str | Path) -> Digest:
    """Read a Markdown digest or a JSONL data file; the kind is detected from the content.

    Returns the papers in input order (the first copy of a repeated arXiv id), the digest's
    categories, and a :class:`~pipeline.models.ParseWarning` for every recoverable problem
    (duplicates, a truncated end, malformed JSONL lines, placeholder categories, an empty day).

    Raises:
        InputError: the file is missing, a directory, empty, binary, not UTF-8, an HTML page, or a
            Markdown/JSON file that is not a digest.
    """
    source = read_source(path)
    if detect_kind(source) == "jsonl":
        return parse_jsonl(source)
    return parse_markdown(source)
