"""Paper documents the pipeline writes without running a paper's stages, and the day's list.

- :func:`failed_document`: a paper whose stages could not finish (the provider failed it);
- :func:`skipped_document`: a paper not processed (budget reached, provider down, not selected);
- :func:`digest_entries`: every paper of a digest in input order, for ``digest.json`` and
  ``digest.en.md``: the documents a run made, an earlier run's document for a paper it did not
  select (from its paper file, or, when that file was deleted, from the previous
  ``digest.json``), else a ``skipped`` (``not_selected``) document. So a partial run never
  shrinks the day's aggregates and every paper of the input is accounted for.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline import __version__
from pipeline.errors import InputError
from pipeline.models import (
    Digest,
    Paper,
    PaperDocument,
    Provenance,
    SkipReason,
    Summary,
    Translation,
    Validation,
    ValidationIssue,
)
from pipeline.output.writer import paper_path
from pipeline.stages.detect import detect_fields
from pipeline.validate.document import NOT_SELECTED, has_paper_file


def failed_document(paper: Paper, run_id: str, check: str, message: str) -> PaperDocument:
    """A document for a paper whose pipeline could not finish: status failed, no invented text."""
    return PaperDocument(
        arxiv_id=paper.arxiv_id, url=paper.url, title=paper.title, authors=paper.authors,
        category=paper.category, abstract=paper.abstract, source=detect_fields(paper),
        extra=paper.extra, translation=Translation(), summary=Summary(),
        validation=Validation(status="failed", issues=[ValidationIssue(field="paper", check=check,
                                                                        severity="error", message=message)]),
        provenance=Provenance(pipeline_version=__version__, run_id=run_id))


def skipped_document(paper: Paper, run_id: str, reason: SkipReason, message: str) -> PaperDocument:
    """A ``skipped`` document for a paper no model worked on: ``skip_reason`` and one warning
    issue of that check carrying ``message``."""
    document = failed_document(paper, run_id, reason, message)
    issue = document.validation.issues[0].model_copy(update={"severity": "warning"})
    validation = Validation(status="skipped", skip_reason=reason, issues=[issue])
    return document.model_copy(update={"validation": validation})


def digest_entries(digest: Digest, documents: list[PaperDocument], out_dir: Path, run_id: str,
                   selection: str, problems: list[str] | None = None) -> list[PaperDocument]:
    """Every paper of ``digest`` in input order (module docstring). An earlier paper file that
    cannot be read is named in that paper's document and appended to ``problems`` (one line each)."""
    made = {d.arxiv_id: d for d in documents}
    listed: dict[str, PaperDocument] | None = None  # the previous digest.json, read when first needed
    entries = []
    for paper in digest.papers:
        path = paper_path(out_dir, paper.arxiv_id)
        if paper.arxiv_id in made:
            document, problem = made[paper.arxiv_id], None
        elif path.is_file():
            document, problem = _earlier_document(path, paper)
        else:  # never written, or processed before and its file deleted since: digest.json still lists it
            listed = _listed_documents(out_dir) if listed is None else listed
            document, problem = _deleted_document(listed.get(paper.arxiv_id), paper), None
            if document is not None and problems is not None:
                problems.append(f"{path}: missing; kept as the previous digest.json lists it; "
                                f"run with --ids {paper.arxiv_id} to write it again")
        if document is None:
            why = (f"its file from an earlier run is unreadable ({problem})" if problem
                   else f"not selected by this run ({selection})")
            document = skipped_document(paper, run_id, NOT_SELECTED,
                                        f"not processed: {why}; run with --ids {paper.arxiv_id} to process it")
            if problem and problems is not None:
                problems.append(f"{path}: {problem}; listed as not processed")
        entries.append(document)
    return entries


def _deleted_document(listed: PaperDocument | None, paper: Paper) -> PaperDocument | None:
    """The previous ``digest.json``'s entry for ``paper`` when it stands for a paper file that
    should be there (:func:`~pipeline.validate.document.has_paper_file`), else None."""
    if listed is None or listed.title != paper.title or not has_paper_file(listed.validation):
        return None
    return listed


def _listed_documents(out_dir: Path) -> dict[str, PaperDocument]:
    """The papers the previous ``digest.json`` of ``out_dir`` lists, by id ({} when there is none
    or it cannot be read: then a deleted paper file is listed as not processed)."""
    from pipeline.validate.command import load_document  # late: validate imports the run's models

    try:
        entries = json.loads((out_dir / "digest.json").read_text(encoding="utf-8")).get("papers")
        found = {}
        for entry in entries if isinstance(entries, list) else []:
            try:
                document = load_document(out_dir / "digest.json", entry)[1]
            except InputError:
                continue
            found[document.arxiv_id] = document
        return found
    except (OSError, ValueError, AttributeError):
        return {}


def _earlier_document(path: Path, paper: Paper) -> tuple[PaperDocument | None, str | None]:
    """The paper's document from its file ``path``, written by an earlier run (None when it is
    another paper's), or why the file cannot be used."""
    from pipeline.validate.command import load_document  # late: validate imports the run's models

    try:
        document = load_document(path)[1]
    except InputError as exc:  # "not valid JSON: ... (line 1, column 2)", "not a valid paper document: ..."
        return None, exc.message
    if (document.arxiv_id, document.title) != (paper.arxiv_id, paper.title):
        return None, None  # from another digest with the same name: not this paper's
    return document, None
