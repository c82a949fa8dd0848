"""The batch state file: which batches a run submitted, so a killed run resumes instead of resubmitting.

``<out>/.batch-state.json`` (the output root, ``--out``) holds one record per batch input file::

    {"version": 1, "batches": [{"id": "batch_abc", "input_file_id": "file-xyz",
      "endpoint": "/v1/chat/completions", "base_url": "https://api.openai.com/v1", "round": 1,
      "status": "in_progress", "keys": ["<cache key>", ...], "lines": 645,
      "counts": {"total": 645, "completed": 300, "failed": 0}, "submitted_at": "2026-06-16T05:30:00+00:00"}]}

``status`` is ``uploaded`` (input file uploaded, batch not yet created: a run killed there
finds the batch by its input file, :meth:`pipeline.batch.client.BatchClient.find_batch`), then
the Batch API's status, then ``imported`` once its answers are in the cache. Every change is
written atomically (temp file + rename) before the run goes on, so after ``kill -9`` the file
names every batch that may be running. A record is *pending* until ``imported``; the cache keys
of pending records are never submitted again. Imported records keep their counts but drop
their keys; the last :data:`HISTORY` are kept.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import InputError
from pipeline.output.files import write_json_atomic

STATE_NAME = ".batch-state.json"
HISTORY = 200
"""Imported records kept in the file (for the record; they play no part in resuming)."""
IMPORTED = "imported"
UPLOADED = "uploaded"


class BatchRecord(BaseModel):
    """One submitted batch (module docstring)."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    input_file_id: str
    endpoint: str
    base_url: str
    round: int = Field(ge=0)
    status: str = UPLOADED
    keys: list[str] = Field(default_factory=list)
    lines: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    submitted_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def pending(self) -> bool:
        """True until the batch's answers are in the cache."""
        return self.status != IMPORTED


class BatchState(BaseModel):
    """The file's content."""

    model_config = ConfigDict(extra="forbid")
    version: int = 1
    batches: list[BatchRecord] = Field(default_factory=list)


class StateFile:
    """The state file at ``path`` (module docstring); load with :meth:`load`."""

    def __init__(self, path: Path, state: BatchState | None = None) -> None:
        self.path = path
        self.state = state or BatchState()

    @classmethod
    def load(cls, out_root: Path) -> StateFile:
        """The state file of the output root ``out_root`` (empty when there is none yet).
        Raises InputError (exit 2) when it cannot be read or is not a state file."""
        path = out_root / STATE_NAME
        if not path.exists():
            return cls(path)
        try:
            return cls(path, BatchState.model_validate_json(path.read_bytes()))
        except (OSError, ValidationError, ValueError) as exc:
            reason = str(exc).splitlines()[0]
            raise InputError(path, f"not a readable batch state file ({reason}); it names batches that may still "
                             "be running at the provider: fix it, or remove it to forget them") from exc

    def save(self) -> None:
        """Write the file atomically (raises OSError)."""
        write_json_atomic(self.path, self.state.model_dump(mode="json"))

    def pending(self, base_url: str | None = None) -> list[BatchRecord]:
        """The records not yet imported (of ``base_url`` only, when given), oldest first."""
        return [r for r in self.state.batches if r.pending and (base_url is None or r.base_url == base_url)]

    def pending_keys(self, base_url: str | None = None) -> set[str]:
        """The cache keys of every pending record (of ``base_url``): never submitted again while pending."""
        return {key for record in self.pending(base_url) for key in record.keys}

    def add(self, record: BatchRecord) -> BatchRecord:
        """Record a new batch (saved at once)."""
        record.lines = record.lines or len(record.keys)
        self.state.batches.append(record)
        self.save()
        return record

    def update(self, record: BatchRecord, **changes: object) -> None:
        """Change ``record`` (status, id, counts) and save, only when something changed."""
        if all(getattr(record, name) == value for name, value in changes.items()):
            return
        for name, value in changes.items():
            setattr(record, name, value)
        if record.status == IMPORTED:
            record.keys = []
            self._trim()
        self.save()

    def _trim(self) -> None:
        """Keep the last :data:`HISTORY` imported records (and every pending one)."""
        imported = [r for r in self.state.batches if not r.pending]
        drop = {id(r) for r in imported[:-HISTORY]} if len(imported) > HISTORY else set()
        self.state.batches = [r for r in self.state.batches if id(r) not in drop]
