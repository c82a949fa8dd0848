"""The files a run (and a rerun) adds to its output folder for publishing, next to ``digest.json``:

- ``<date>_AI_enhanced_English.jsonl``: the English data file (:mod:`pipeline.publish.datafile`);
- ``feed.xml``: the Atom feed of the day (:mod:`pipeline.publish.feed`);
- ``report.html``: the review page (:mod:`pipeline.publish.report`).

:func:`publication_files` renders all three before anything is written, so the English file's
CJK guard (:class:`~pipeline.errors.OutputError`) stops a run's aggregates before the first
write; :func:`write_publication_files` writes them, each atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.models import Digest, PaperDocument
from pipeline.output.files import write_text_atomic
from pipeline.publish.datafile import dumps_records, english_records
from pipeline.publish.feed import day_feed_xml
from pipeline.publish.names import english_file_name
from pipeline.publish.report import render_report


def publication_files(digest: Digest, documents: list[PaperDocument], summary: dict[str, Any]) -> dict[str, str]:
    """File name -> text of the three files for ``documents`` (every paper of ``digest``, input
    order, as ``digest.json`` lists them) and the run ``summary``. Raises OutputError."""
    english = english_records(digest, documents)
    return {english_file_name(digest.path): dumps_records(english.records),
            "feed.xml": day_feed_xml(digest, english.records, summary.get("started_at")),
            "report.html": render_report(digest, documents, summary)}


def write_publication_files(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write :func:`publication_files`' result into ``out_dir`` (each file atomically)."""
    paths = []
    for name, text in files.items():
        write_text_atomic(out_dir / name, text)
        paths.append(out_dir / name)
    return paths
