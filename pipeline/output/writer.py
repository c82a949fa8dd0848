"""Writes the output contract of ``docs/PRODUCT.md`` under ``<out>/<digest-stem>/``.

- ``papers/<safe arxiv id>.json``: one :class:`~pipeline.models.PaperDocument` each, written as
  soon as the paper is done (atomically), so a crash loses no finished paper;
- ``digest.json``: every paper in input order plus the run summary;
- ``run.json``: the run manifest (see :class:`pipeline.runner.RunSummary`);
- ``digest.en.md``: the English digest in the input's Markdown template;
- ``<date>_AI_enhanced_English.jsonl``, ``feed.xml``, ``report.html``: for publishing to a
  daily-arXiv-ai-enhanced site (:mod:`pipeline.publish.outputs`).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.models import Digest, PaperDocument
from pipeline.output.files import write_json_atomic, write_text_atomic
from pipeline.output.markdown import render_markdown
from pipeline.parse.ids import safe_filename
from pipeline.publish.outputs import publication_files, write_publication_files


def unavailable_marker(document: PaperDocument, name: str) -> str | None:
    """``(translation unavailable: check, check)`` for a field left null because its answer failed
    those checks (the TL;DR also needs the re-summary to have failed); None for a field with no
    source and nothing rejected (the template leaves it out)."""
    paths = [f"translation.{name}"] + (["summary.tldr"] if name == "tldr" else [])
    if not any(path in document.validation.rejected for path in paths):
        return None
    checks = sorted({i.check for i in document.validation.issues if i.field in paths and i.severity == "error"})
    return f"(translation unavailable: {', '.join(checks) or 'failed validation'})"


def output_dir(out_root: Path, digest_path: str | Path) -> Path:
    """``<out_root>/<digest stem>``, the stem reduced to safe characters (no separators, no ``..``)."""
    stem = Path(digest_path).name
    for suffix in (".md", ".jsonl", ".markdown"):
        stem = stem.removesuffix(suffix)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "digest"
    return out_root / safe


def paper_path(out_dir: Path, arxiv_id: str) -> Path:
    return out_dir / "papers" / f"{safe_filename(arxiv_id)}.json"


def write_paper(out_dir: Path, document: PaperDocument) -> str:
    """Write one paper document (atomically, not fsynced: see :mod:`pipeline.output.files`) to
    :func:`paper_path`; the text written (the file is its UTF-8 bytes)."""
    text = document.model_dump_json(indent=2) + "\n"
    write_text_atomic(paper_path(out_dir, document.arxiv_id), text, durable=False)
    return text


def write_aggregates(out_dir: Path, digest: Digest, documents: list[PaperDocument], summary: dict) -> None:
    """Write ``digest.json``, ``digest.en.md``, the publication files and, last, ``run.json`` (its
    presence marks a finished run). The publication files are rendered first: OutputError (the
    English file's CJK guard) before any write."""
    published = publication_files(digest, documents, summary)
    write_json_atomic(out_dir / "digest.json", {"digest": Path(digest.path).name, "run": summary, "papers": documents})
    write_text_atomic(out_dir / "digest.en.md", render_english(digest, documents))
    write_publication_files(out_dir, published)
    write_json_atomic(out_dir / "run.json", summary)


def render_english(digest: Digest, documents: list[PaperDocument]) -> str:
    """The English digest: the input template with translated fields (re-summary as TL;DR fallback),
    every text escaped (no markup from a digest or a model reaches a page). A field whose answer
    failed its checks reads ``(translation unavailable: <checks>)`` instead of the rejected text."""
    texts: dict[str, dict[str, str | None]] = {}
    for doc in documents:
        fields = doc.translation.model_dump()
        if not fields.get("tldr"):
            fields["tldr"] = doc.summary.tldr
        for name, text in fields.items():
            if text is None:
                fields[name] = unavailable_marker(doc, name)
        texts[doc.arxiv_id] = fields
    kept = digest.model_copy(update={"papers": [p for p in digest.papers if p.arxiv_id in texts]})
    return render_markdown(kept, texts, escape=True)
