"""``digest-pipeline validate PATH``: re-run the deterministic checks on written outputs.

PATH is a paper document (``papers/<id>.json``), an output folder (``outputs/<stem>/`` with
``papers/*.json``; its ``papers/`` folder works too) or a folder of output folders
(``outputs/``). Every paper's ``validation`` block is recomputed with
:func:`pipeline.validate.document.revalidate` (no model call) and, unless ``dry_run``, written
back atomically when it changed; ``digest.json`` / ``run.json`` next to ``papers/`` get their
paper entries, ``status_counts``, ``failures_per_check`` and
``failures_per_check_first_attempt`` updated too.

Everything is read and checked before anything is written: a path that is not an output, or a
file that is not a valid paper document (or a broken ``digest.json`` / ``run.json``), raises
:class:`pipeline.errors.InputError` (exit 2) naming the file and what is wrong, with nothing
rewritten; every paper file is read first, so one line names the first broken file and how
many more there are. The CLI only prints the :class:`ValidateReport`.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.errors import InputError
from pipeline.models import PaperDocument, Validation
from pipeline.output.files import write_json_atomic
from pipeline.output.lock import output_lock
from pipeline.output.writer import paper_path
from pipeline.validate.legacy import upgrade_document
from pipeline.validate.document import (
    STATUSES,
    failures_per_check,
    has_paper_file,
    revalidate,
    status_counts,
    summary_counts,
)

AGGREGATES = ("digest.json", "run.json")


@dataclass
class PaperResult:
    """One paper document: its validation before and after re-checking."""

    path: Path
    arxiv_id: str
    raw: dict[str, Any] = field(repr=False)
    before: Validation
    after: Validation

    @property
    def changed(self) -> bool:
        return self.before.model_dump(mode="json") != self.after.model_dump(mode="json")

    def updated_raw(self) -> dict[str, Any]:
        """The file's JSON with only its ``validation`` block replaced."""
        return {**self.raw, "validation": validation_json(self.after, self.raw)}


@dataclass
class OutputFolder:
    """One ``outputs/<stem>/`` folder (``folder`` None for a lone paper file)."""

    folder: Path | None
    papers: list[PaperResult]
    whole: bool = True  # every paper file of the folder is being re-checked
    aggregates: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # name -> new JSON
    aggregates_changed: list[str] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    """Paper files that ``digest.json`` lists as processed but that are not there (deleted)."""


@dataclass
class ValidateReport:
    """What ``validate`` found and did; ``exit_code`` 1 when any paper is failed after re-checking."""

    path: Path
    outputs: list[OutputFolder]
    dry_run: bool
    rewritten: list[Path] = field(default_factory=list)

    @property
    def papers(self) -> list[PaperResult]:
        return [p for o in self.outputs for p in o.papers]

    @property
    def changed(self) -> list[PaperResult]:
        return [p for p in self.papers if p.changed]

    def status_counts(self, when: str) -> dict[str, int]:
        return status_counts(getattr(p, when) for p in self.papers)

    def per_check(self, when: str, severity: str) -> dict[str, int]:
        return failures_per_check((getattr(p, when) for p in self.papers), severity)

    @property
    def checks(self) -> list[str]:
        """Every check with an issue before or after, sorted."""
        names: set[str] = set()
        for when in ("before", "after"):
            for severity in ("error", "warning"):
                names |= set(self.per_check(when, severity))
        return sorted(names)

    @property
    def missing(self) -> list[Path]:
        """Paper files a folder's ``digest.json`` lists as processed that are not there."""
        return [m for o in self.outputs for m in o.missing]

    @property
    def exit_code(self) -> int:
        return 1 if any(p.after.status == "failed" for p in self.papers) or self.missing else 0

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data (``validate --json``)."""
        return {
            "path": str(self.path),
            "dry_run": self.dry_run,
            "papers": len(self.papers),
            "status_counts": {"before": self.status_counts("before"), "after": self.status_counts("after")},
            "failures_per_check": {"before": self.per_check("before", "error"),
                                   "after": self.per_check("after", "error")},
            "warnings_per_check": {"before": self.per_check("before", "warning"),
                                   "after": self.per_check("after", "warning")},
            "changed": [{"arxiv_id": p.arxiv_id, "file": str(p.path), "before": p.before.status,
                         "after": p.after.status,
                         "errors": sorted({i.check for i in p.after.issues if i.severity == "error"})}
                        for p in self.changed],
            "failed": [p.arxiv_id for p in self.papers if p.after.status == "failed"],
            "rewritten": [str(p) for p in self.rewritten],
            "missing": [str(p) for p in self.missing],
            "exit_code": self.exit_code,
        }


# --------------------------------------------------------------------------- finding outputs

def _json_files(papers_dir: Path) -> list[Path]:
    return sorted(p for p in papers_dir.glob("*.json") if p.is_file() and not p.name.startswith("."))


def find_outputs(path: Path) -> list[tuple[Path | None, list[Path]]]:
    """(output folder or None, paper files) for ``path``; InputError when it is not an output.

    A lone file's folder is the output folder when the file sits in its ``papers/``."""
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_file():
        parent = path.parent
        folder = parent.parent if parent.name == "papers" else None
        return [(folder, [path])]
    if (path / "papers").is_dir():
        return [(path, _json_files(path / "papers"))]
    if (path / "run.json").is_file() and (path / "digest.json").is_file():  # an empty day: no paper files
        return [(path, [])]
    if path.name == "papers" and _json_files(path):
        return [(path.parent, _json_files(path))]
    found = [(papers.parent, _json_files(papers)) for papers in sorted(path.rglob("papers"))
             if papers.is_dir()]  # output folders at any depth (eval puts them at NAME/VARIANT/DIGEST)
    if not found:
        raise InputError(path, "not a digest-pipeline output: no papers/ folder in it or in its subfolders "
                               "(pass outputs/<digest>/, outputs/ or a papers/<id>.json file)")
    return found


# --------------------------------------------------------------------------- loading

def validation_json(validation: Validation, raw: dict[str, Any]) -> dict[str, Any]:
    """``validation`` as JSON for the paper document ``raw``: a document written before
    ``skip_reason`` and ``rejected`` existed (schema 1.1) gets no such key unless it says
    something, so that re-checking an unchanged legacy document rewrites nothing."""
    data = validation.model_dump(mode="json")
    before = raw.get("validation") if isinstance(raw.get("validation"), dict) else {}
    for key in ("skip_reason", "rejected"):  # keys schema 1.2 added, left out where they say nothing
        if key not in before and not data.get(key):
            data.pop(key, None)
    return data


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not a paper document: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def _pydantic_reason(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(document)"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{loc}: {first['msg']}{more}"


def load_document(path: Path, data: Any | None = None) -> tuple[dict[str, Any], PaperDocument]:
    """The raw JSON and the parsed document of a paper file (an earlier schema's document read
    through :func:`~pipeline.validate.legacy.upgrade_document`); InputError naming what is wrong."""
    raw = _read_json(path) if data is None else data
    if not isinstance(raw, dict):
        raise InputError(path, f"not a paper document: the JSON is a {type(raw).__name__}, expected an object")
    try:
        document = PaperDocument.model_validate(raw)
    except ValidationError as exc:
        raise InputError(path, f"not a valid paper document: {_pydantic_reason(exc)}") from None
    return raw, upgrade_document(document)


def _check_paper(path: Path) -> PaperResult:
    raw, document = load_document(path)
    return PaperResult(path, document.arxiv_id, raw, document.validation, revalidate(document))


# --------------------------------------------------------------------------- aggregates

def _update_aggregates(out: OutputFolder) -> None:
    """Recompute ``digest.json`` / ``run.json`` of ``out.folder`` in memory (written later).

    The run's papers are ``digest.json``'s entries (a re-checked paper's entry becomes its file's
    JSON; an entry with no re-checked file is re-checked itself when the whole folder is being
    validated, else kept); without ``digest.json``, every paper file in ``papers/``.
    """
    assert out.folder is not None
    existing = {name: out.folder / name for name in AGGREGATES if (out.folder / name).is_file()}
    if not existing:
        return
    original = {name: _read_json(path) for name, path in existing.items()}
    for name, data in original.items():
        if not isinstance(data, dict):
            raise InputError(existing[name], f"not a {name}: the JSON is a {type(data).__name__}, expected an object")
    updated = dict(original)
    if "digest.json" in original:
        entries, validations = _digest_entries(out, existing["digest.json"], original["digest.json"])
        updated["digest.json"] = {**original["digest.json"], "papers": entries}
    else:
        validations = _paper_file_validations(out)
    counts = summary_counts(validations)
    if "digest.json" in updated and isinstance(updated["digest.json"].get("run"), dict):
        updated["digest.json"]["run"] = {**updated["digest.json"]["run"], **counts}
    if "run.json" in updated:
        updated["run.json"] = {**updated["run.json"], **counts}
    for name, data in updated.items():
        if data != original[name]:
            out.aggregates[name] = data
            out.aggregates_changed.append(name)


def _digest_entries(out: OutputFolder, where: Path, digest_json: dict[str, Any]
                    ) -> tuple[list[dict[str, Any]], list[Validation]]:
    """``digest.json``'s entries with their validation re-checked, and those validations."""
    entries = digest_json.get("papers")
    if not isinstance(entries, list):
        raise InputError(where, "not a digest.json: no 'papers' list")
    by_id = {p.arxiv_id: p for p in out.papers}
    new_entries, validations = [], []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InputError(where, f"papers[{n}] is not a paper document")
        raw, document = load_document(where, entry)
        paper = by_id.get(document.arxiv_id)
        if paper is None and out.whole and out.folder is not None and has_paper_file(document.validation) \
                and not paper_path(out.folder, document.arxiv_id).is_file():
            out.missing.append(paper_path(out.folder, document.arxiv_id))
        validation = paper.after if paper is not None else (
            revalidate(document) if out.whole else document.validation)
        new_entries.append(paper.updated_raw() if paper is not None
                           else {**raw, "validation": validation_json(validation, raw)})
        validations.append(validation)
    return new_entries, validations


def _paper_file_validations(out: OutputFolder) -> list[Validation]:
    """The validation of every paper file of ``out`` (re-checked where it was)."""
    assert out.folder is not None
    validations = []
    for f in _json_files(out.folder / "papers"):
        same = [p for p in out.papers if p.path.resolve() == f.resolve()]
        validations.append(same[0].after if same else load_document(f)[1].validation)
    return validations


# --------------------------------------------------------------------------- entry point

def validate_path(path: str | Path, *, dry_run: bool = False) -> ValidateReport:
    """Re-check every paper document under ``path`` and rewrite what changed (see module doc)."""
    path = Path(path)
    found = find_outputs(path)
    with ExitStack() as locks:
        if not dry_run:  # every folder locked before anything is read or rewritten
            for folder, _files in found:
                if folder is not None:
                    locks.enter_context(output_lock(folder, "validate", create=False))
        outputs: list[OutputFolder] = []
        broken: list[InputError] = []
        for folder, files in found:
            out = OutputFolder(folder, _check_papers(files, broken), whole=not path.is_file())
            if folder is not None and not broken:
                _update_aggregates(out)
            outputs.append(out)
        if broken:
            raise _all_broken(broken)
        report = ValidateReport(path, outputs, dry_run)
        if not dry_run:
            _write(report)
    return report


def _check_papers(files: list[Path], broken: list[InputError]) -> list[PaperResult]:
    """:func:`_check_paper` of each file; the InputError of each that is not a valid paper
    document goes into ``broken`` (every broken file is found, not only the first)."""
    results = []
    for file in files:
        try:
            results.append(_check_paper(file))
        except InputError as exc:
            broken.append(exc)
    return results


def _all_broken(broken: list[InputError]) -> InputError:
    """One InputError for every broken paper file: the first one's, naming how many more there
    are and the first few of them."""
    first = broken[0]
    if len(broken) == 1:
        return first
    names = ", ".join(str(e.path) for e in broken[1:4]) + (", ..." if len(broken) > 4 else "")
    return InputError(first.path, f"{first.message}; {len(broken) - 1} more paper file(s) cannot be checked "
                                  f"({names}); nothing was rewritten", line=first.line, paper_id=first.paper_id)


def _write(report: ValidateReport) -> None:
    try:
        for out in report.outputs:
            for paper in out.papers:
                if paper.changed:
                    write_json_atomic(paper.path, paper.updated_raw())
                    report.rewritten.append(paper.path)
            for name in AGGREGATES:  # run.json last: its presence marks a finished output
                if name in out.aggregates and out.folder is not None:
                    write_json_atomic(out.folder / name, out.aggregates[name])
                    report.rewritten.append(out.folder / name)
    except OSError as exc:
        raise InputError(getattr(exc, "filename", None) or report.path, f"cannot write: {exc.strerror or exc}") from exc


__all__ = ["STATUSES", "OutputFolder", "PaperResult", "ValidateReport", "find_outputs", "load_document",
           "validate_path"]
