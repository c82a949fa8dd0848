"""Run an eval: every variant on the same papers, one shared cache, then the report files.

Outputs go to ``<out>/eval/<run-name>/``: ``<variant>/<digest-stem>/`` holds each variant's usual
run outputs (papers, digest.json, run.json, digest.en.md); ``report.json`` and ``report.md`` the
comparison. Everything is checked (config, every variant and prompt, the digest, the paper
selection, every variant's models) before the first model call. Each variant runs through the one
run path (:func:`pipeline.runner.run_digest`) inside one session (:mod:`pipeline.session`): every
variant uses the base config's cache and output root (a variant's own ``cache.*`` and
``run.out_dir`` are not used), and variants whose provider and provider settings are equal share
one provider instance, so a local model loads once.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.app import RunOptions, load_run_config
from pipeline.config import LoadedVariant
from pipeline.errors import ConfigError
from pipeline.eval.compare import EvalReport, VariantRun, build_report
from pipeline.eval.render import report_markdown
from pipeline.eval.variants import parse_variant_args, select_variants
from pipeline.events import Event, EventLog
from pipeline.models import Digest
from pipeline.output.files import write_json_atomic, write_text_atomic
from pipeline.parse import parse_digest
from pipeline.runner import processed_only, run_digest, select_papers
from pipeline.session import Session, open_session

_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class EvalOptions:
    """What ``digest-pipeline eval`` takes. ``run`` holds the config, overrides, flags, cache and
    output root shared by every variant (``run.out_dir`` is the root: files go to ROOT/eval/NAME)."""

    run: RunOptions = field(default_factory=RunOptions)
    variants: list[str] = field(default_factory=list)
    sample: int | None = None
    ids: list[str] | None = None
    seed: int = 0
    name: str | None = None
    show_diff: bool = False


@dataclass
class EvalResult:
    report: EvalReport
    runs: list[VariantRun]
    out_dir: Path

    def events(self, variant: str) -> EventLog:
        """The event log of one variant's run (tests assert which stages were cache hits)."""
        return next(r.result.events for r in self.runs if r.variant.name == variant)


def execute_eval(digest_path: Path, options: EvalOptions, *, env: Mapping[str, str] | None = None,
                 listener: Callable[[str, Event], None] | None = None) -> EvalResult:
    """Check everything, run each variant, write ``report.json`` and ``report.md``.

    ``listener(variant name, event)`` sees every event. Raises ConfigError / InputError before
    any model call when the config, a variant, a prompt, the digest or the selection is bad.
    """
    names, adhoc = parse_variant_args(options.variants)
    _check_options(options)
    base = load_run_config(options.run, env=env, extra_variants=adhoc)
    variants = select_variants(base, names)
    digest = parse_digest(digest_path)
    paper_ids = choose_papers(digest, options.sample, options.ids, options.seed)
    run_name = options.name or f"{Path(digest_path).stem}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    root = base.out_root() / "eval" / run_name
    if root.is_dir() and any(root.iterdir()):  # its variants' folders would mix two evals' papers
        raise ConfigError("--name", [f"an eval named {run_name!r} already exists ({root}); "
                                     "pass another --name or delete that folder"])
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with open_session(base, no_cache=options.run.no_cache) as session:
        for variant in variants:  # every variant's provider and models, before the first variant runs
            session.provider(variant.loaded)
        runs = [_run_variant(v, digest, paper_ids, session, root, listener) for v in variants]
    report = build_report(runs, run_name=run_name, digest=Path(digest_path).name, created_at=created,
                          selection=_selection(options, digest), papers=paper_ids,
                          out_dirs={r.variant.name: str(r.result.out_dir) for r in runs}, show_diff=options.show_diff)
    write_json_atomic(root / "report.json", report.model_dump(mode="json"))
    write_text_atomic(root / "report.md", report_markdown(report, show_diff=options.show_diff))
    return EvalResult(report, runs, root)


def choose_papers(digest: Digest, sample: int | None, ids: list[str] | None, seed: int) -> list[str]:
    """The eval's paper ids in input order: ``ids`` (all must exist), a seeded sample, or every paper."""
    papers = select_papers(digest, ids, None)
    if sample is not None and sample < len(papers):
        chosen = set(random.Random(seed).sample(range(len(papers)), sample))
        papers = [p for i, p in enumerate(papers) if i in chosen]
    return [p.arxiv_id for p in papers]


def _check_options(options: EvalOptions) -> None:
    problems = []
    if options.sample is not None and options.ids:
        problems.append("--sample and --ids cannot be used together")
    if options.sample is not None and options.sample < 1:
        problems.append("--sample must be at least 1")
    if options.name is not None and not _RUN_NAME.match(options.name):
        problems.append(f"--name {options.name!r}: use letters, digits, '.', '_' or '-' (it names a folder)")
    if problems:
        raise ConfigError("eval", problems)


def _run_variant(variant: LoadedVariant, digest: Digest, paper_ids: list[str], session: Session, root: Path,
                 listener: Callable[[str, Event], None] | None) -> VariantRun:
    config = variant.loaded.config
    events = EventLog(listener=(lambda e: listener(variant.name, e)) if listener else None)
    result = run_digest(digest, variant.loaded, session.provider(variant.loaded), session.cache,
                        out_root=root / variant.name, ids=paper_ids or None, limit=None if paper_ids else 0,
                        concurrency=config.run.concurrency, events=events, update=processed_only)
    return VariantRun(variant, result)


def _selection(options: EvalOptions, digest: Digest) -> dict[str, object]:
    if options.ids:
        return {"mode": "ids", "ids": list(options.ids)}
    if options.sample is not None:
        return {"mode": "sample", "sample": options.sample, "seed": options.seed, "of": len(digest.papers)}
    return {"mode": "all", "of": len(digest.papers)}
