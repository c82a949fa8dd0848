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

Checking again is skipped when it cannot change anything: the index stores, with each paper, a
*stamp* -- the sha256 of :func:`~pipeline.validate.fingerprint.checks_fingerprint` and the paper
file's bytes as written. When the file still has those bytes, the checks are the same code and
the title is unchanged, the earlier ``validation`` is what :func:`revalidate` would give, and it
is carried as it is (on the 17 archive days, revalidation was about 14% of a cold backfill).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
from pathlib import Path

from pipeline.errors import InputError
from pipeline.models import Paper, PaperDocument, ReusedFrom, StageProvenance, Usage
from pipeline.output.writer import paper_path
from pipeline.validate.document import revalidate
from pipeline.validate.fingerprint import checks_fingerprint

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
                                 "digest TEXT NOT NULL, run_id TEXT NOT NULL, stamp TEXT)")
                columns = {row[1] for row in self._db.execute("PRAGMA table_info(papers)")}
                if "stamp" not in columns:  # an index written before stamps: its papers are re-checked
                    self._db.execute("ALTER TABLE papers ADD COLUMN stamp TEXT")
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

    def find(self, paper: Paper, out_dir: Path) -> tuple[PaperDocument, ReusedFrom, bool] | None:
        """The document another day's folder holds for ``paper`` (same id, same abstract), if it
        was finished ``ok`` or ``repaired`` and can still be read, and whether its validation is
        current (its file and the checks unchanged since it was recorded: the stamp matches);
        None otherwise."""
        row = self._query("SELECT folder, digest, run_id, stamp FROM papers WHERE key = ?", (reuse_key(paper),))
        if row is None or row[0] == out_dir.name:
            return None
        read = _read(paper_path(self.out_root / row[0], paper.arxiv_id))
        if read is None:
            return None
        earlier, stamp = read
        if earlier.arxiv_id != paper.arxiv_id or earlier.validation.status not in REUSABLE:
            return None
        return earlier, ReusedFrom(day=row[0], digest=row[1], run_id=row[2]), row[3] == stamp

    def record(self, paper: Paper, document: PaperDocument, out_dir: Path, digest: str, written: str) -> None:
        """Remember ``document`` (validated by this process's checks, written in ``out_dir`` for
        ``digest`` as the text ``written``: :func:`~pipeline.output.writer.write_paper`) when it
        is reusable and not itself reused."""
        if document.validation.status not in REUSABLE or document.provenance.reused_from is not None:
            return
        self._query("INSERT OR REPLACE INTO papers VALUES (?, ?, ?, ?, ?)",
                    (reuse_key(paper), out_dir.name, digest, document.provenance.run_id,
                     _stamp(written.encode("utf-8"))))

    def close(self) -> None:
        """Close the index (if it was opened)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _stamp(content: bytes) -> str:
    """sha256 (hex) of the checks' fingerprint and a paper file's bytes (module docstring)."""
    return hashlib.sha256(checks_fingerprint().encode("ascii") + b"\0" + content).hexdigest()


def _read(path: Path) -> tuple[PaperDocument, str] | None:
    """The paper document in ``path`` and the stamp of its bytes; None when it is missing or
    not a paper document."""
    from pipeline.validate.command import load_document  # late: validate imports the run's models

    try:
        content = path.read_bytes()
        return load_document(path, json.loads(content))[1], _stamp(content)
    except (OSError, ValueError, InputError):
        return None


def reused_document(paper: Paper, earlier: PaperDocument, origin: ReusedFrom, run_id: str,
                    current: bool = False) -> PaperDocument:
    """``paper``'s document built from ``earlier`` (module docstring); its validation re-checked
    unless ``current`` (the earlier validation was made by these checks on these texts: see
    :meth:`ReuseIndex.find`) and the title, which some checks read, is the same."""
    stages = {name: _saved(stage) for name, stage in earlier.provenance.stages.items()}
    provenance = earlier.provenance.model_copy(update={"run_id": run_id, "reused_from": origin, "stages": stages,
                                                       "usage": Usage()})
    document = earlier.model_copy(update={
        "url": paper.url, "title": paper.title, "authors": paper.authors, "category": paper.category,
        "extra": paper.extra, "provenance": provenance})
    if current and earlier.title == paper.title:
        return document
    return document.model_copy(update={"validation": revalidate(document)})


def _saved(stage: StageProvenance) -> StageProvenance:
    """A stage's provenance in a reused document: nothing spent; what the earlier run spent (and
    its cache saved) counts as saved."""
    if stage.model is None:
        return stage
    saved = stage.usage.add(stage.cached_usage)
    return stage.model_copy(update={"usage": Usage(), "cached_usage": saved,
                                    "cache": {key: "hit" for key in stage.cache}})
