"""Compare variant runs: metrics per variant, the best value per row, regressions, output diffs.

Tokens and latency count every model call a variant needed at what it cost when it was made,
including calls served from the shared cache (the ``seconds`` / ``tokens`` of ``executed`` and
``cache_hit`` events), so the order the variants ran in and what the cache already held do not
favour one variant. ``model calls executed`` and ``cache hits`` show what this eval actually ran.
A paper's latency is the sum of its model calls' wall times; the row shows the median over papers.
"""

from __future__ import annotations

import difflib
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.config import LoadedVariant
from pipeline.events import EventLog
from pipeline.models import SUMMARY_FIELDS, PaperDocument
from pipeline.runner import RunResult

Better = Literal["higher", "lower"]
#: The output fields compared between variants (``translation.*`` and the re-summary).
COMPARED_FIELDS: tuple[str, ...] = (*(f"translation.{f}" for f in SUMMARY_FIELDS), "summary.tldr")


@dataclass
class VariantRun:
    """One variant's run: the checked variant and what :func:`pipeline.runner.run_digest` returned."""

    variant: LoadedVariant
    result: RunResult


@dataclass(frozen=True)
class MetricDef:
    """A row of the comparison. ``better`` None = informational (never marked best or regressed).

    A value regresses when it is worse than the baseline's by more than
    ``max(rel_tol * |baseline|, abs_tol)`` (tolerances absorb timing noise).
    """

    key: str
    label: str
    better: Better | None
    value: Callable[["VariantMetrics"], float | int | None]
    rel_tol: float = 0.0
    abs_tol: float = 0.0


class MetricRow(BaseModel):
    """One row of the table: a value per variant, the best variant(s), the regressed ones."""

    key: str
    label: str
    better: Better | None
    values: dict[str, float | int | None]
    best: list[str] = Field(default_factory=list)
    regressions: list[str] = Field(default_factory=list)


class VariantMetrics(BaseModel):
    """What one variant did on the eval's papers."""

    papers: int
    status: dict[str, int]
    failures_per_check: dict[str, int]
    calls: int = Field(description="model calls the variant needed: executed + served from cache")
    executed: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None = Field(None, description="unknown (no price table) is null")
    paper_seconds: dict[str, float | None] = Field(description="per paper: sum of its model calls' seconds")
    median_latency: float | None
    wall_seconds: float
    differing_papers: list[str] = Field(default_factory=list,
                                        description="papers whose output differs from the baseline's")

    @property
    def pass_rate(self) -> float | None:
        if not self.papers:
            return None
        return round(100.0 * (self.status.get("ok", 0) + self.status.get("repaired", 0)) / self.papers, 1)


class VariantInfo(BaseModel):
    name: str
    description: str
    origin: str
    overrides: list[str]
    baseline: bool
    provider: str
    models: dict[str, str]
    prompts: dict[str, str]
    config_hash: str
    run_id: str
    out_dir: str
    metrics: VariantMetrics


class FieldDiff(BaseModel):
    """A field whose text differs between the baseline and a variant; ``diff`` is unified, one sentence a line."""

    paper_id: str
    variant: str
    field: str
    baseline_text: str | None
    variant_text: str | None
    diff: str


class EvalReport(BaseModel):
    """Everything ``report.json`` holds; ``report.md`` and the table are rendered from it."""

    run_name: str
    digest: str
    created_at: str
    selection: dict[str, object]
    papers: list[str]
    baseline: str
    variants: list[VariantInfo]
    rows: list[MetricRow]
    diffs: list[FieldDiff] = Field(default_factory=list, description="filled with --show-diff")
    notes: list[str] = Field(default_factory=list)

    def row(self, key: str) -> MetricRow:
        return next(r for r in self.rows if r.key == key)


def build_report(runs: list[VariantRun], *, run_name: str, digest: str, created_at: str,
                 selection: dict[str, object], papers: list[str], out_dirs: dict[str, str],
                 show_diff: bool) -> EvalReport:
    """Compare ``runs`` (the first is the baseline) into an :class:`EvalReport`."""
    baseline = runs[0]
    base_docs = _by_id(baseline.result.documents)
    infos, diffs = [], []
    for run in runs:
        docs = _by_id(run.result.documents)
        differing = [] if run is baseline else _differing(base_docs, docs)
        if show_diff and run is not baseline:
            diffs += [d for pid in differing for d in field_diffs(base_docs[pid], docs[pid], baseline.variant.name,
                                                                   run.variant.name)]
        infos.append(_info(run, run is baseline, out_dirs[run.variant.name], differing))
    metrics = {i.name: i.metrics for i in infos}
    rows = [_row(d, metrics, baseline.variant.name) for d in metric_defs(metrics)]
    return EvalReport(run_name=run_name, digest=digest, created_at=created_at, selection=selection,
                      papers=papers, baseline=baseline.variant.name, variants=infos, rows=rows, diffs=diffs,
                      notes=_notes(runs))


def variant_metrics(result: RunResult) -> VariantMetrics:
    """Metrics of one variant run (see the module docstring for how tokens and latency count)."""
    summary, events = result.summary, result.events
    seconds = paper_seconds(events, [d.arxiv_id for d in result.documents])
    known = [s for s in seconds.values() if s is not None]
    prompt_tokens, completion_tokens = _tokens(events)
    executed, hits = events.count("executed"), events.count("cache_hit")
    return VariantMetrics(
        papers=summary.papers, status=dict(summary.status_counts), failures_per_check=dict(summary.failures_per_check),
        calls=executed + hits, executed=executed, cache_hits=hits, prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens, cost=summary.cost, paper_seconds=seconds,
        median_latency=round(statistics.median(known), 6) if known else None, wall_seconds=summary.wall_seconds)


def paper_seconds(events: EventLog, paper_ids: list[str]) -> dict[str, float | None]:
    """Per paper, the summed seconds of its model calls (None if a cached call's time is unknown)."""
    totals: dict[str, float | None] = {pid: 0.0 for pid in paper_ids}
    for event in list(events.events):
        if event.kind not in ("executed", "cache_hit") or event.paper_id not in totals:
            continue
        current = totals[event.paper_id]
        totals[event.paper_id] = None if current is None or event.seconds is None else current + event.seconds
    return {pid: None if s is None else round(s, 6) for pid, s in totals.items()}


def metric_defs(metrics: dict[str, VariantMetrics]) -> list[MetricDef]:
    """The rows, in display order; one ``failed check`` row per check any variant failed."""
    checks = sorted({c for m in metrics.values() for c in m.failures_per_check})
    skipped = {m.status.get("skipped", 0) for m in metrics.values()}
    # A variant that skipped papers (budget reached) spent less on fewer papers: effort is not compared.
    effort: Better | None = "lower" if len(skipped) == 1 else None
    return [
        MetricDef("papers", "papers", None, lambda m: m.papers),
        MetricDef("ok", "ok", "higher", lambda m: m.status.get("ok", 0)),
        # more repaired papers may mean fewer ok (worse) or fewer failed (better): not ranked
        MetricDef("repaired", "repaired", None, lambda m: m.status.get("repaired", 0)),
        MetricDef("failed", "failed", "lower", lambda m: m.status.get("failed", 0)),
        *([MetricDef("skipped", "skipped (budget reached)", "lower", lambda m: m.status.get("skipped", 0))]
          if skipped != {0} else []),
        MetricDef("pass_rate", "pass rate (ok + repaired)", "higher", lambda m: m.pass_rate),
        *(MetricDef(f"check:{c}", f"failed check: {c}", "lower",
                    lambda m, c=c: m.failures_per_check.get(c, 0)) for c in checks),
        MetricDef("calls", "model calls needed", effort, lambda m: m.calls),
        MetricDef("executed", "  executed in this eval", None, lambda m: m.executed),
        MetricDef("cache_hits", "  served from cache", None, lambda m: m.cache_hits),
        MetricDef("prompt_tokens", "prompt tokens", effort, lambda m: m.prompt_tokens),
        MetricDef("completion_tokens", "completion tokens", effort, lambda m: m.completion_tokens),
        MetricDef("cost", "cost", effort, lambda m: m.cost),
        MetricDef("median_latency", "median latency / paper", effort, lambda m: m.median_latency,
                  rel_tol=0.10, abs_tol=0.01),
        MetricDef("wall_seconds", "wall time of this eval", None, lambda m: m.wall_seconds),
        MetricDef("differing", "papers whose output differs", None, lambda m: len(m.differing_papers)),
    ]


def mark(values: dict[str, float | int | None], better: Better | None, baseline: str,
         rel_tol: float = 0.0, abs_tol: float = 0.0) -> tuple[list[str], list[str]]:
    """(best variants, regressed variants) of one row. No best when every known value is equal."""
    if better is None:
        return [], []
    known = {k: v for k, v in values.items() if v is not None}
    best: list[str] = []
    if len(set(known.values())) > 1:
        target = max(known.values()) if better == "higher" else min(known.values())
        best = [k for k, v in known.items() if v == target]
    base = known.get(baseline)
    if base is None:
        return best, []
    margin = max(rel_tol * abs(base), abs_tol)
    sign = -1 if better == "higher" else 1
    regressions = [k for k, v in known.items() if k != baseline and sign * (v - base) > margin]
    return best, regressions


def field_diffs(base: PaperDocument, other: PaperDocument, base_name: str, other_name: str) -> list[FieldDiff]:
    """The fields of one paper whose text differs, each with a unified diff (one sentence a line)."""
    a, b = output_fields(base), output_fields(other)
    diffs = []
    for name in COMPARED_FIELDS:
        if a[name] == b[name]:
            continue
        lines = difflib.unified_diff(_sentences(a[name]), _sentences(b[name]), f"{base_name}/{name}",
                                     f"{other_name}/{name}", lineterm="", n=1)
        diffs.append(FieldDiff(paper_id=base.arxiv_id, variant=other_name, field=name, baseline_text=a[name],
                               variant_text=b[name], diff="\n".join(lines)))
    return diffs


REJECTED_MARK = "[rejected] "
"""Prefix of a compared text that failed its checks (the field is null; the variant wrote this)."""


def output_fields(doc: PaperDocument) -> dict[str, str | None]:
    """The compared output texts of a document, by ``translation.<field>`` / ``summary.tldr``; a
    field left null because its answer failed a check compares as that answer, marked
    :data:`REJECTED_MARK` (a variant is judged on what it wrote)."""
    fields = {f"translation.{k}": v for k, v in doc.translation.model_dump().items() if k in SUMMARY_FIELDS}
    fields |= {"summary.tldr": doc.summary.tldr}
    return {path: REJECTED_MARK + doc.validation.rejected[path] if text is None and path in doc.validation.rejected
            else text for path, text in fields.items()}


def _sentences(text: str | None) -> list[str]:
    if not text:
        return []
    return [s for s in re.split(r"(?<=[.!?。！？])\s+", text.strip()) if s]


def _by_id(documents: list[PaperDocument]) -> dict[str, PaperDocument]:
    return {d.arxiv_id: d for d in documents}


def _differing(base: dict[str, PaperDocument], other: dict[str, PaperDocument]) -> list[str]:
    return [pid for pid, doc in other.items() if pid in base and output_fields(doc) != output_fields(base[pid])]


def _tokens(events: EventLog) -> tuple[int, int]:
    prompt = completion = 0
    for event in list(events.events):
        if event.kind in ("executed", "cache_hit") and event.tokens:
            prompt, completion = prompt + event.tokens[0], completion + event.tokens[1]
    return prompt, completion


def _info(run: VariantRun, baseline: bool, out_dir: str, differing: list[str]) -> VariantInfo:
    summary, variant = run.result.summary, run.variant
    metrics = variant_metrics(run.result)
    metrics.differing_papers = differing
    return VariantInfo(name=variant.name, description=variant.description, origin=variant.origin,
                       overrides=variant.overrides, baseline=baseline, provider=summary.provider,
                       models=summary.models, prompts=summary.prompts, config_hash=summary.config_hash,
                       run_id=summary.run_id, out_dir=out_dir, metrics=metrics)


def _row(definition: MetricDef, metrics: dict[str, VariantMetrics], baseline: str) -> MetricRow:
    values = {name: definition.value(m) for name, m in metrics.items()}
    best, regressions = mark(values, definition.better, baseline, definition.rel_tol, definition.abs_tol)
    return MetricRow(key=definition.key, label=definition.label, better=definition.better, values=values,
                     best=best, regressions=regressions)


def _notes(runs: list[VariantRun]) -> list[str]:
    notes = ["tokens and latency count every call a variant needed at its original cost, cache hits included; "
             "'executed in this eval' and 'served from cache' show what this eval actually ran"]
    skipped = {r.variant.name: r.result.summary.status_counts.get("skipped", 0) for r in runs}
    if len(set(skipped.values())) > 1:
        notes.append("papers skipped (budget reached): " + ", ".join(f"{n} {k}" for k, n in skipped.items())
                     + "; calls, tokens, cost and latency cover different papers and are not compared")
    if all(r.result.summary.cost is None for r in runs):
        unpriced = sorted({m for r in runs for m in r.result.summary.unpriced_models})
        notes.append(f"cost: unknown (no price in prices: for {', '.join(unpriced)})" if unpriced
                     else "cost: unknown")
    base_hash = runs[0].result.summary.config_hash
    for run in runs[1:]:
        if run.result.summary.config_hash == base_hash:
            notes.append(f"variant {run.variant.name!r} has the same effective config as the baseline")
    return notes
