"""Application services behind the CLI: turn command-line options into a configured run.

Kept apart from :mod:`pipeline.cli` so tests and other tools can drive a run with plain data.
Order matters for "nothing half-written": the config, every prompt and the digest are checked
before the provider is built or any model is called; every command then runs inside one
:func:`pipeline.session.open_session` (provider, model checks, cache, close).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import BASE_VARIANT, LoadedConfig, load_config
from pipeline.errors import ConfigError, ModelNotAvailableError, ProviderError
from pipeline.estimate import Estimate, estimate_run
from pipeline.events import Event, EventLog
from pipeline.llm import provider_spec
from pipeline.llm.base import Provider
from pipeline.output.lock import output_lock
from pipeline.output.writer import output_dir
from pipeline.parse import parse_digest
from pipeline.rerun import RerunResult, prepare_rerun, rerun_paper
from pipeline.reuse import ReuseIndex
from pipeline.runner import RunResult, run_digest, select_papers
from pipeline.session import open_session
from pipeline.stages.registry import stage_names


@dataclass
class RunOptions:
    """What a user may set on the command line; None means "as the config says"."""

    config: Path | None = None
    overrides: list[str] = field(default_factory=list)
    out_dir: Path | None = None
    cache_dir: Path | None = None
    no_cache: bool = False
    limit: int | None = None
    ids: list[str] | None = None
    provider: str | None = None
    base_url: str | None = None
    model: str | None = None
    concurrency: int | None = None
    timeout: float | None = None
    variant: str | None = None
    reuse: bool = True
    """Take a paper finished on an earlier day under the same output root as it is (:mod:`pipeline.reuse`)."""


def _literal(value: object) -> str:
    """A flag's value as an override right-hand side that reads back as exactly that string:
    a YAML double-quoted scalar (JSON string syntax), so ``out #1``, ``null`` or ``1.5`` stay text."""
    return json.dumps(str(value), ensure_ascii=False)


def flag_overrides(options: RunOptions) -> list[str]:
    """Command-line flags as dotted config overrides (applied after the file and ``--set``).
    String values are passed literally (:func:`_literal`), never read as YAML."""
    sets: list[str] = []
    if options.provider:
        sets.append(f"provider={_literal(options.provider)}")
    if options.model:
        sets += [f"stages.{stage}.model={_literal(options.model)}" for stage in stage_names()]
    if options.concurrency is not None:
        sets.append(f"run.concurrency={options.concurrency}")
    if options.timeout is not None:
        sets.append(f"run.timeout={options.timeout}")
    if options.cache_dir is not None:
        sets.append(f"cache.dir={_literal(options.cache_dir.resolve())}")
    if options.out_dir is not None:
        sets.append(f"run.out_dir={_literal(options.out_dir.resolve())}")
    return sets


def load_run_config(options: RunOptions, *, env: Mapping[str, str] | None = None,
                    extra_variants: Mapping[str, list[str]] | None = None) -> LoadedConfig:
    """The checked config for a run. Raises ConfigError.

    Precedence, later wins: the packaged defaults, the file (``--config FILE``, else
    ``./config.yaml`` when there is one), the environment (``DIGEST_PIPELINE_PROVIDER``,
    ``DIGEST_PIPELINE_SET``; ``env`` defaults to ``os.environ``), ``--set``, flags; then the
    variant named by ``options.variant``, if any. Every variant (the config's and
    ``extra_variants``) is checked, whichever is used.
    """
    path = options.config
    if path is None and Path("config.yaml").is_file():
        path = Path("config.yaml")  # else the packaged defaults alone (pipeline.config.defaults)
    env = os.environ if env is None else env
    overrides = options.overrides + flag_overrides(options)
    loaded = load_config(path, overrides, env=env, extra_variants=extra_variants)
    if options.base_url and not provider_spec(loaded.config.provider).capabilities.base_url:
        raise ConfigError("--base-url", [f"the {loaded.config.provider} provider takes no URL (it runs its models "
                                         "in this process); add --provider openai to use an OpenAI-compatible "
                                         "server"])
    if options.base_url:
        overrides.append(f"providers.{loaded.config.provider}.settings.base_url={_literal(options.base_url)}")
        loaded = load_config(path, overrides, env=env, extra_variants=extra_variants)
    if options.variant:
        try:
            return loaded.variant(options.variant).loaded
        except KeyError:
            known = ", ".join([BASE_VARIANT, *loaded.variants]) or "none"
            raise ConfigError(loaded.path, [f"no variant {options.variant!r} (known: {known})"]) from None
    return loaded


def execute_run(digest_path: Path, options: RunOptions,
                listener: Callable[[Event], None] | None = None) -> RunResult:
    """Check config and digest, then run inside a session. Raises PipelineError subclasses."""
    loaded = load_run_config(options)
    digest = parse_digest(digest_path)
    select_papers(digest, options.ids, options.limit)  # an unknown id: InputError before anything is made
    out_root = loaded.out_root()
    with open_session(loaded, no_cache=options.no_cache) as session:
        provider = session.provider()
        reuse = ReuseIndex(out_root) if options.reuse else None
        try:
            with output_lock(output_dir(out_root, digest.path), "run"):
                return run_digest(digest, loaded, provider, session.cache, out_root=out_root, ids=options.ids,
                                  limit=options.limit, concurrency=loaded.config.run.concurrency,
                                  events=EventLog(listener=listener), reuse=reuse)
        finally:
            if reuse is not None:
                reuse.close()


def execute_rerun(arxiv_id: str, digest_path: Path, options: RunOptions, from_stage: str | None = None,
                  listener: Callable[[Event], None] | None = None) -> RerunResult:
    """``digest-pipeline rerun``: check config, digest, paper and the previous outputs, then redo
    that paper and update the outputs in place (:mod:`pipeline.rerun`). ``--from-stage validate``
    builds no provider and opens no cache. Raises PipelineError subclasses."""
    loaded = load_run_config(options)
    digest = parse_digest(digest_path)
    out_root = loaded.out_root()
    out_dir = output_dir(out_root, digest.path)
    with output_lock(out_dir, "rerun", create=False) if out_dir.is_dir() else nullcontext():
        plan = prepare_rerun(digest, loaded, arxiv_id, out_root, from_stage)
        events = EventLog(listener=listener)
        if not plan.needs_model:
            return rerun_paper(plan, None, None, events)
        with open_session(loaded, no_cache=options.no_cache) as session:
            return rerun_paper(plan, session.provider(), session.cache, events)


def execute_estimate(digest_path: Path, options: RunOptions) -> Estimate:
    """``run --dry-run``: check config and digest, then estimate calls, tokens and cost through plan
    mode without calling a model or writing anything (:mod:`pipeline.estimate`). The configured
    provider is built only for its model identities (the cache keys); if it cannot be (no API
    key, model not installed) the cache is not consulted and a note says why; a missing cache
    folder is not created."""
    loaded = load_run_config(options)
    digest = parse_digest(digest_path)
    notes: list[str] = []
    with open_session(loaded, no_cache=options.no_cache) as session:
        try:
            provider: Provider | None = session.provider()
        except (ProviderError, ModelNotAvailableError) as exc:  # no key, model not installed; a bad setting raises
            provider = None
            notes.append(f"cache not consulted (every call counted as needed): {exc}")
        cache_dir = loaded.cache_dir()
        use_cache = provider is not None and not options.no_cache and loaded.config.cache.enabled and cache_dir.is_dir()
        return estimate_run(digest, loaded, provider=provider, cache=session.cache if use_cache else None,
                            ids=options.ids, limit=options.limit, notes=notes)
