"""``digest-pipeline publish OUTPUT_DIR... --data-dir DIR``: put English data files where the site reads.

``DIR`` is a checkout of a daily-arXiv-ai-enhanced site's ``data`` branch (``shared/docs/DAE-SITE.md``).
For each output folder (``outputs/<digest-stem>/`` of a ``run``), its English data file
``<date>_AI_enhanced_English.jsonl`` is copied byte for byte to ``DIR/data/``; then
``DIR/assets/file-list.txt`` is rewritten as the names of all ``DIR/data/*.jsonl``, sorted (code
point order, as ``ls`` sorts in the C locale), one per line, each line ending in ``\\n`` like
upstream's ``ls data/*.jsonl | sed 's|data/||'``; and ``DIR/feed.xml`` is rebuilt as the Atom
feed of the ``publish.feed_days`` latest dates that have an English file
(:func:`pipeline.publish.feed.rolling_feed`).

Guarantees: everything is read and checked before the first write (a bad output folder, a name
the site would not list, two folders giving the same file, a ``DIR`` without ``data/`` unless
``--init``, a folder that cannot be written: :class:`~pipeline.errors.InputError`, nothing
written); each file is written atomically and only when its bytes change, so a second publish
changes no byte and no modification time; no other file of ``DIR`` is modified or deleted (the
Chinese data stays byte-identical). Upstream's nightly job overwrites ``file-list.txt`` with that
night's files only, so publish must run after it every night.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipeline.errors import InputError, OutputError
from pipeline.output.files import write_text_atomic
from pipeline.publish.datafile import check_no_cjk
from pipeline.publish.feed import rolling_feed
from pipeline.publish.names import ENGLISH_SUFFIX, SITE_FILE
from pipeline.publish.settings import PublishConfig

FILE_LIST = Path("assets") / "file-list.txt"
FEED = Path("feed.xml")
Action = Literal["added", "replaced", "unchanged"]


@dataclass
class FileChange:
    """One file publish writes: ``path`` relative to the data dir, what happens to it, its text."""

    path: Path
    action: Action
    source: Path | None = None
    text: str = field(default="", repr=False)


@dataclass
class PublishReport:
    """What a publish did (or, with ``dry_run``, would do): folders created, files written."""

    data_dir: Path
    dry_run: bool
    created: list[Path] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)

    @property
    def changes(self) -> list[FileChange]:
        return [change for change in self.files if change.action != "unchanged"]

    def to_dict(self) -> dict:
        """The report as JSON-ready data (paths relative to ``data_dir``)."""
        return {"data_dir": str(self.data_dir), "dry_run": self.dry_run,
                "created": [str(p) for p in self.created],
                "files": [{"path": str(c.path), "action": c.action,
                           "source": str(c.source) if c.source else None} for c in self.files]}


def publish(output_dirs: list[Path], data_dir: Path, *, init: bool = False, dry_run: bool = False,
            settings: PublishConfig | None = None) -> PublishReport:
    """Publish the English data files of ``output_dirs`` into ``data_dir`` (module docstring).
    Raises InputError (nothing written) for bad input; OSError only if a write fails midway."""
    settings = settings or PublishConfig()
    created = _site_folders(data_dir, init)
    sources = [english_file_of(folder) for folder in output_dirs]
    _no_collisions(sources)
    english = [_change(data_dir, Path("data") / s.name, s.read_bytes().decode("utf-8"), s) for s in sources]
    present = sorted(p.name for p in (data_dir / "data").glob("*.jsonl")) if (data_dir / "data").is_dir() else []
    names = sorted(set(present) | {s.name for s in sources})
    file_list = _change(data_dir, FILE_LIST, "".join(f"{name}\n" for name in names))
    english_files = {n: data_dir / "data" / n for n in names if n.endswith(ENGLISH_SUFFIX)}
    english_files.update({s.name: s for s in sources})
    feed_text = rolling_feed(list(english_files.values()), settings.feed_days)
    feed = [_change(data_dir, FEED, feed_text)] if feed_text is not None else []
    report = PublishReport(data_dir, dry_run, created, [*english, file_list, *feed])
    _check_writable(data_dir, report)
    if not dry_run:
        _write(data_dir, report)
    return report


def _site_folders(data_dir: Path, init: bool) -> list[Path]:
    """Folders to create in ``data_dir`` (relative); InputError when it is not a site's data
    checkout (no ``data/`` folder) and ``init`` is not given."""
    if not data_dir.exists():
        raise InputError(data_dir, "no such folder: --data-dir must be a checkout of the site's data branch "
                                   "(to start a new one: create the folder, then publish with --init)")
    if not data_dir.is_dir():
        raise InputError(data_dir, "not a folder: --data-dir must be a checkout of the site's data branch")
    if not (data_dir / "data").is_dir() and not init:
        raise InputError(data_dir, "no data/ folder: not a checkout of a daily-arXiv-ai-enhanced data "
                                   "branch (pass --init to start one here)")
    return [Path(name) for name in ("data", "assets") if not (data_dir / name).is_dir()]


def english_file_of(folder: Path) -> Path:
    """The one dated English data file of a run's output folder, checked line by line (JSON
    objects with an ``AI`` object, no CJK outside the arXiv metadata); InputError otherwise."""
    if not folder.is_dir():
        raise InputError(folder, "not an output folder of digest-pipeline run")
    found = sorted(folder.glob(f"*{ENGLISH_SUFFIX}"))
    if len(found) != 1:
        what = "no English data file" if not found else f"{len(found)} English data files"
        raise InputError(folder, f"{what} (*{ENGLISH_SUFFIX}) here: pass the output folder of one run")
    path = found[0]
    if not SITE_FILE.fullmatch(path.name):
        raise InputError(path, "the site only lists <date>_AI_enhanced_English.jsonl files: run the "
                               "day's file under its dated name (e.g. 2026-06-16_AI_enhanced_Chinese.jsonl)")
    _check_lines(path)
    return path


def _check_lines(path: Path) -> None:
    """Every line of an English data file is a JSON object with an ``AI`` object and no CJK text
    outside the arXiv metadata; InputError naming the line otherwise."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not JSON Lines: {exc.msg}", line=number) from None
        if not isinstance(record, dict) or not isinstance(record.get("AI"), dict):
            raise InputError(path, "not an English data record (a JSON object with an AI object)", line=number)
        try:
            check_no_cjk(record, path, str(record.get("id")))
        except OutputError as exc:
            raise InputError(path, exc.message, line=number, paper_id=exc.paper_id) from None


def _no_collisions(sources: list[Path]) -> None:
    """InputError when two output folders hold English files of the same name (the same day)."""
    seen: dict[str, Path] = {}
    for source in sources:
        if source.name in seen and seen[source.name] != source:
            raise InputError(source, f"the same day as {seen[source.name]}: publish one of them")
        seen[source.name] = source


def _change(data_dir: Path, relative: Path, text: str, source: Path | None = None) -> FileChange:
    """What writing ``text`` to ``data_dir/relative`` would be: added, replaced or unchanged."""
    target = data_dir / relative
    if not target.is_file():
        return FileChange(relative, "added", source, text)
    same = target.read_bytes() == text.encode("utf-8")
    return FileChange(relative, "unchanged" if same else "replaced", source, text)


def _check_writable(data_dir: Path, report: PublishReport) -> None:
    """InputError when a folder publish must write in cannot be written (read-only, permissions)."""
    folders = {data_dir / c.path.parent for c in report.changes} | ({data_dir} if report.created else set())
    for folder in sorted(folders):
        existing = folder if folder.is_dir() else data_dir
        if not os.access(existing, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids):
            raise InputError(existing, "cannot write here (read-only or no permission): nothing published")


def _write(data_dir: Path, report: PublishReport) -> None:
    """Create the folders, then write the changed files (English files, file list, feed), each atomically."""
    for folder in report.created:
        (data_dir / folder).mkdir(exist_ok=True)
    for change in report.changes:
        write_text_atomic(data_dir / change.path, change.text)


def report_lines(report: PublishReport) -> list[str]:
    """What the report says, one line per folder created and file added or replaced (``would
    add`` ... under ``--dry-run``), then a count line."""
    verb = {"added": "add", "replaced": "replace", "created": "create"}
    lines = [f"{'would ' + verb['created'] if report.dry_run else 'created'} {folder}/" for folder in report.created]
    for change in report.changes:
        action = f"would {verb[change.action]}" if report.dry_run else change.action
        source = f" (from {change.source})" if change.source else ""
        lines.append(f"{action} {change.path}{source}")
    unchanged = len(report.files) - len(report.changes)
    lines.append(f"{report.data_dir}: {len(report.changes)} file(s) {'to change' if report.dry_run else 'changed'}"
                 f", {unchanged} unchanged")
    return lines
