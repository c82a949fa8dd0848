"""``digest-pipeline rerun ARXIV_ID --digest DIGEST [--from-stage STAGE]``: redo one paper in place.

A rerun is :func:`pipeline.runner.run_digest` for that one paper, with the model stages from
``STAGE`` on forced past the cache (:func:`forced_stages`; the order is the stage declaration's,
:mod:`pipeline.stages.registry`; their fresh replies replace the cached ones), plus the in-place
aggregate update of :func:`rerun_update`. Without ``--from-stage`` nothing is forced: every call
the cache still holds is a hit, so only what changed (a prompt, a model) is called again.
``--from-stage validate`` re-checks the written document with no model call (as
``digest-pipeline validate`` does for one file).

Then, each write atomic, in this order: ``papers/<id>.json``; ``digest.json`` with that paper's
entry replaced where it was (or inserted at its input position when the previous run had not
selected it) and its run summary recomputed; ``digest.en.md``; ``run.json`` last. No other file
is touched, so the other papers' files stay byte for byte as they were.

The recomputed summary (:func:`pipeline.summary.content_fields`) derives statuses, failures per
check, tokens and cost (spent and saved by the cache) from the documents, so it describes the
outputs as they now are; the activity counters (``model_calls``, ``cache_hits``, ``retries``) add
the rerun's, and ``reruns`` records each rerun (who, when, from which stage, what it cost).

A folder with no previous run (no ``digest.json`` / ``run.json``) is an input error (exit 2,
nothing written): a rerun updates a finished run's outputs, and a one-paper ``digest.json`` would
pass for a whole day. Run ``digest-pipeline run DIGEST --ids ID`` to start a folder with one paper.
Everything (config, digest, paper id, the previous outputs) is read and checked before the first
model call.

A paper the previous run reused from an earlier day (``provenance.reused_from``) was translated
from that day's Chinese text, so the cache holds nothing for this day's: a rerun of it, from any
model stage, translates this day's own text (the calls are counted), and ``run.json``'s ``reused``
count drops by one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python

from pipeline.cache import CacheStore
from pipeline.config import LoadedConfig
from pipeline.errors import ConfigError, InputError
from pipeline.events import Event, EventLog
from pipeline.llm.base import Provider
from pipeline.models import Digest, Paper, PaperDocument, Validation
from pipeline.output.files import write_text_atomic
from pipeline.output.writer import output_dir, paper_path, write_aggregates
from pipeline.runner import run_digest, select_papers
from pipeline.stages.registry import stage_names, stages_from
from pipeline.summary import content_fields, digest_fingerprint
from pipeline.validate.command import load_document
from pipeline.validate.document import revalidate

VALIDATE_ONLY = "validate"
"""``--from-stage validate``: re-check the written paper, no model call."""


def from_stage_choices() -> tuple[str, ...]:
    """What ``--from-stage`` accepts: a declared model stage, or ``validate``."""
    return (*stage_names(), VALIDATE_ONLY)


def forced_stages(from_stage: str | None) -> frozenset[str]:
    """The stages whose cached replies a rerun from ``from_stage`` ignores: that stage and every
    stage declared after it. ConfigError for an unknown stage."""
    if from_stage is None or from_stage == VALIDATE_ONLY:
        return frozenset()
    try:
        return frozenset(stages_from(from_stage))
    except KeyError:
        raise ConfigError("--from-stage", [f"unknown stage {from_stage!r} (one of: "
                                           f"{', '.join(from_stage_choices())})"]) from None


@dataclass
class RerunPlan:
    """Everything a rerun needs, read and checked before any model call or write."""

    digest: Digest
    loaded: LoadedConfig
    paper: Paper
    from_stage: str | None
    out_dir: Path
    digest_json: dict[str, Any] = field(repr=False)
    run_json: dict[str, Any] = field(repr=False)
    documents: list[PaperDocument] = field(repr=False)  # digest.json's entries, parsed
    before: PaperDocument | None = None  # the paper as written by the previous run

    @property
    def needs_model(self) -> bool:
        return self.from_stage != VALIDATE_ONLY

    @property
    def out_root(self) -> Path:
        return self.out_dir.parent


@dataclass
class RerunResult:
    """The rerun paper's new document, its validation before, and the updated run summary."""

    document: PaperDocument
    before: Validation | None
    summary: dict[str, Any]
    out_dir: Path
    paper_path: Path
    from_stage: str
    model_calls: int
    cache_hits: int
    events: EventLog = field(repr=False, default_factory=EventLog)

    @property
    def exit_code(self) -> int:
        """0 ok/repaired, 1 the paper failed validation or was skipped."""
        return 1 if self.document.validation.status in ("failed", "skipped") else 0


def prepare_rerun(digest: Digest, loaded: LoadedConfig, arxiv_id: str, out_root: Path,
                  from_stage: str | None) -> RerunPlan:
    """Check the stage, the paper id and the previous run's outputs; InputError/ConfigError if not usable."""
    forced_stages(from_stage)  # rejects an unknown stage
    paper = select_papers(digest, [arxiv_id], None)[0]
    out_dir = output_dir(out_root, digest.path)
    missing = [name for name in ("digest.json", "run.json") if not (out_dir / name).is_file()]
    if missing:
        raise InputError(out_dir, f"no previous run here ({' and '.join(missing)} missing): rerun updates the "
                                  f"outputs of a finished run; run `digest-pipeline run {digest.path}` first "
                                  "(with --ids to process only some papers)")
    digest_json, run_json = read_object(out_dir / "digest.json"), read_object(out_dir / "run.json")
    entries = digest_json.get("papers")
    if not isinstance(entries, list):
        raise InputError(out_dir / "digest.json", "not a digest.json: no 'papers' list")
    documents = [load_document(out_dir / "digest.json", entry)[1] for entry in entries]
    _check_same_digest(digest, out_dir, digest_json, run_json, documents)
    file = paper_path(out_dir, paper.arxiv_id)
    before = load_document(file)[1] if file.is_file() else next(
        (d for d in documents if d.arxiv_id == paper.arxiv_id), None)
    if from_stage == VALIDATE_ONLY and (before is None or before.validation.status == "skipped"):
        raise InputError(file, "--from-stage validate re-checks the written document, and there is none for "
                               "this paper (never processed); rerun it without --from-stage instead")
    return RerunPlan(digest, loaded, paper, from_stage, out_dir, digest_json, run_json, documents, before)


def rerun_paper(plan: RerunPlan, provider: Provider | None, cache: CacheStore | None,
                events: EventLog | None = None) -> RerunResult:
    """Recompute (or, from ``validate``, re-check) the paper and update the outputs in place.

    ``provider`` and ``cache`` may be None only for ``--from-stage validate``. Raises
    ProviderError (nothing written) when the provider cannot answer at all.
    """
    events = events or EventLog()
    started = datetime.now(timezone.utc)
    if plan.needs_model:
        assert provider is not None and cache is not None
        run = run_digest(plan.digest, plan.loaded, provider, cache, out_root=plan.out_root,
                         ids=[plan.paper.arxiv_id], events=events, force_stages=forced_stages(plan.from_stage),
                         write_on_stop=False,
                         update=lambda finished: rerun_update(plan, finished.documents[0], events, started,
                                                              finished.wall, finished.ctx.run_id))
        document, summary = run.documents[0], run.summary_json
    else:
        assert plan.before is not None
        clock = time.perf_counter()
        document = plan.before.model_copy(update={"validation": revalidate(plan.before)})
        path = paper_path(plan.out_dir, document.arxiv_id)
        _written(path, lambda: write_text_atomic(path, document.model_dump_json(indent=2) + "\n"))
        entries, summary = rerun_update(plan, document, events, started, time.perf_counter() - clock, None)
        _written(plan.out_dir, lambda: write_aggregates(plan.out_dir, plan.digest, entries, summary))
    return RerunResult(document, plan.before.validation if plan.before is not None else None, summary,
                       plan.out_dir, paper_path(plan.out_dir, document.arxiv_id), plan.from_stage or "cache",
                       events.count("executed"), events.count("cache_hit"), events)


def rerun_update(plan: RerunPlan, document: PaperDocument, events: EventLog, started: datetime, seconds: float,
                 run_id: str | None) -> tuple[list[PaperDocument], dict[str, Any]]:
    """The rerun's aggregates: the previous run's entries with ``document`` replaced where it was
    (or inserted at its input position), and the previous ``run.json`` with its content counts
    recomputed, the activity counters increased and this rerun recorded (module docstring)."""
    documents = list(plan.documents)
    position = next((i for i, d in enumerate(documents) if d.arxiv_id == document.arxiv_id), None)
    if position is None:
        documents.insert(_input_position(plan.digest, documents, document.arxiv_id), document)
    else:
        documents[position] = document
    executed, hits, retried = events.count("executed"), events.count("cache_hit"), events.count("retried")
    record = {"arxiv_id": document.arxiv_id, "run_id": run_id, "at": started.isoformat(timespec="seconds"),
              "from_stage": plan.from_stage, "config_hash": plan.loaded.config.digest(),
              "status_before": plan.before.validation.status if plan.before is not None else None,
              "status_after": document.validation.status, "model_calls": executed, "cache_hits": hits,
              "retries": retried, "prompt_tokens": document.provenance.usage.prompt_tokens,
              "completion_tokens": document.provenance.usage.completion_tokens,
              "cost": document.provenance.cost, "wall_seconds": round(seconds, 3)}
    old = plan.run_json
    summary = {**old, **to_jsonable_python(content_fields(documents, plan.loaded.config.prices)),
               "model_calls": _int(old, "model_calls") + executed, "cache_hits": _int(old, "cache_hits") + hits,
               "retries": _int(old, "retries") + retried,
               "reused": sum(d.provenance.reused_from is not None for d in documents),
               "reruns": [*(old.get("reruns") or []), record]}
    return documents, summary


def _written(where: Path, write: Callable[[], None]) -> None:
    """Run ``write``; an OSError becomes an InputError naming the file."""
    try:
        write()
    except OSError as exc:
        raise InputError(getattr(exc, "filename", None) or where, f"cannot write: {exc.strerror or exc}") from exc


def _check_same_digest(digest: Digest, out_dir: Path, digest_json: dict[str, Any], run_json: dict[str, Any],
                       documents: list[PaperDocument]) -> None:
    """InputError (nothing written) when the outputs were made from another digest: another file
    name, or a file of the same name whose papers differ (the fingerprint recorded in ``run.json``;
    for a run that recorded none, the papers ``digest.json`` lists)."""
    made_from, name = digest_json.get("digest"), Path(digest.path).name
    recorded = run_json.get("digest_fingerprint")
    same_papers = recorded == digest_fingerprint(digest) if recorded else \
        [d.arxiv_id for d in documents] == [p.arxiv_id for p in digest.papers]
    if made_from not in (None, name) or not same_papers:
        what = f"{made_from!r}" if made_from not in (None, name) else \
            f"a digest of the same name with other papers ({len(documents)} listed, this one has {len(digest.papers)})"
        raise InputError(out_dir / "run.json", f"this run was made from {what}, not {digest.path}: pass the same "
                                                "--digest, or another --out for this one")


def _input_position(digest: Digest, documents: list[PaperDocument], arxiv_id: str) -> int:
    """Where ``arxiv_id`` goes among ``documents`` so that they stay in the digest's order."""
    order = {p.arxiv_id: i for i, p in enumerate(digest.papers)}
    mine = order[arxiv_id]
    return next((i for i, d in enumerate(documents) if order.get(d.arxiv_id, -1) > mine), len(documents))


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) else 0


def read_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (``digest.json``, ``run.json``); InputError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InputError(path, f"not a {path.name}: the JSON is a {type(data).__name__}, expected an object")
    return data


__all__ = ["VALIDATE_ONLY", "RerunPlan", "RerunResult", "forced_stages", "from_stage_choices", "prepare_rerun",
           "rerun_paper", "rerun_update"]
