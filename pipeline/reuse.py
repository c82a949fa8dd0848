"""Paper reuse across days: a paper finished on an earlier day is not translated again.

A quarter of the records of upstream's archive repeat a paper of an earlier day (cross-listing,
re-announcements) with the same abstract but freshly generated Chinese text, so the stage cache,
keyed on that text, saves nothing there. :class:`ReuseIndex` remembers, per output root, every
paper finished ``ok`` or ``repaired``, by arXiv id and abstract: ``<out_root>/.reuse.sqlite``
(SQLite: safe across the threads of a run and across processes, memory flat however many days).

When a later day (another output folder under the same root: a multi-day run, or the next night's
run) lists a paper with the same id and the same abstract, its document is that earlier one
(:func:`reused_document`): the earlier day's source fields, English fields and re-summary, this
day's title, authors, category and extra fields, ``provenance.reused_from`` naming the day and run
they came from, no usage (what the earlier calls cost counts as saved), and its validation
checked again with today's checks. A paper whose earlier result fails them is processed anew, as
is any paper whose abstract changed. ``run --no-reuse`` translates each day's own text.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
from pathlib import Path

from pipeline.errors import InputError
from pipeline.models import Paper, PaperDocument, ReusedFrom, StageProvenance, Usage
from pipeline.output.writer import paper_path
from pipeline.validate.document import revalidate

INDEX_NAME = ".reuse.sqlite"
_log = logging.getLogger(__name__)
REUSABLE = ("ok", "repaired")


def reuse_key(paper: Paper) -> str:
    """``<arxiv id>|<sha256 of the abstract, white space folded>``: the same paper with the same abstract."""
    abstract = re.sub(r"\s+", " ", paper.abstract).strip()
    return f"{paper.arxiv_id}|{hashlib.sha256(abstract.encode('utf-8')).hexdigest()}"


class ReuseIndex:
    """The finished papers under ``out_root`` (module docstring). Thread-safe. Opened on first use;
    reuse only saves calls, so an index that cannot be opened or written (a read-only or full
    disk) turns reuse off for the run with one warning (``problem``) instead of stopping it."""

    def __init__(self, out_root: Path) -> None:
        self.out_root = Path(out_root)
        self.path = self.out_root / INDEX_NAME
        self.problem: str | None = None
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection | None:
        """The open index (opened and created on first use); None once it failed."""
        if self._db is None and self.problem is None:
            try:
                # Autocommit, write-ahead log, no fsync per commit: a record lost to a power cut
                # only costs a reuse (the paper is translated again), never a wrong answer.
                self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS papers (key TEXT PRIMARY KEY, folder TEXT NOT NULL, "
                                 "digest TEXT NOT NULL, run_id TEXT NOT NULL)")
            except (OSError, sqlite3.Error) as exc:
                self._disable(exc)
        return self._db

    def _disable(self, exc: Exception) -> None:
        self.problem = f"{self.path}: {exc}; papers of earlier days are not reused in this run"
        _log.warning("reuse index unavailable: %s", self.problem)
        if self._db is not None:
            self._db.close()
            self._db = None

    def _query(self, sql: str, args: tuple[str, ...]) -> tuple[str, ...] | None:
        with self._lock:
            db = self._connection()
            if db is None:
                return None
            try:
                return db.execute(sql, args).fetchone()
            except sqlite3.Error as exc:
                self._disable(exc)
                return None

    def find(self, paper: Paper, out_dir: Path) -> tuple[PaperDocument, ReusedFrom] | None:
        """The document another day's folder holds for ``paper`` (same id, same abstract), if it
        was finished ``ok`` or ``repaired`` and can still be read; None otherwise."""
        row = self._query("SELECT folder, digest, run_id FROM papers WHERE key = ?", (reuse_key(paper),))
        if row is None or row[0] == out_dir.name:
            return None
        earlier = _read(paper_path(self.out_root / row[0], paper.arxiv_id))
        if earlier is None or earlier.arxiv_id != paper.arxiv_id or earlier.validation.status not in REUSABLE:
            return None
        return earlier, ReusedFrom(day=row[0], digest=row[1], run_id=row[2])

    def record(self, paper: Paper, document: PaperDocument, out_dir: Path, digest: str) -> None:
        """Remember ``document`` (written in ``out_dir`` for ``digest``) when it is reusable and
        not itself reused."""
        if document.validation.status not in REUSABLE or document.provenance.reused_from is not None:
            return
        self._query("INSERT OR REPLACE INTO papers VALUES (?, ?, ?, ?)",
                    (reuse_key(paper), out_dir.name, digest, document.provenance.run_id))

    def close(self) -> None:
        """Close the index (if it was opened)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _read(path: Path) -> PaperDocument | None:
    from pipeline.validate.command import load_document  # late: validate imports the run's models

    if not path.is_file():
        return None
    try:
        return load_document(path)[1]
    except InputError:
        return None


def reused_document(paper: Paper, earlier: PaperDocument, origin: ReusedFrom, run_id: str) -> PaperDocument:
    """``paper``'s document built from ``earlier`` (module docstring); its validation re-checked."""
    stages = {name: _saved(stage) for name, stage in earlier.provenance.stages.items()}
    provenance = earlier.provenance.model_copy(update={"run_id": run_id, "reused_from": origin, "stages": stages,
                                                       "usage": Usage()})
    document = earlier.model_copy(update={
        "url": paper.url, "title": paper.title, "authors": paper.authors, "category": paper.category,
        "extra": paper.extra, "provenance": provenance})
    return document.model_copy(update={"validation": revalidate(document)})


def _saved(stage: StageProvenance) -> StageProvenance:
    """A stage's provenance in a reused document: nothing spent; what the earlier run spent (and
    its cache saved) counts as saved."""
    if stage.model is None:
        return stage
    saved = stage.usage.add(stage.cached_usage)
    return stage.model_copy(update={"usage": Usage(), "cached_usage": saved,
                                    "cache": {key: "hit" for key in stage.cache}})
