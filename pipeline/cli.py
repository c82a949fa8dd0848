"""The ``digest-pipeline`` command line: thin wrappers that parse arguments, call a function, print.

Exit codes (docs/PRODUCT.md): 0 every paper ok or repaired; 1 the run finished but some papers
failed validation (all written); 2 bad input or config (one clear line, nothing half-written).
Errors print as one line on stderr; ``--debug`` shows the traceback before it, and changes no exit code.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline import __version__
from pipeline.cli_common import (
    HANDLED,
    BaseUrlOpt,
    CacheDirOpt,
    ConcurrencyOpt,
    ConfigOpt,
    DebugOpt,
    DigestArg,
    ModelOpt,
    NoCacheOpt,
    ProviderOpt,
    SetOpt,
    TimeoutOpt,
    VariantOpt,
    Command,
    app,
    err,
    fail,
    out,
    paper_id,
    split_ids,
)
from pipeline.stages.registry import stage_names

@app.command(cls=Command)
def run(
    digests: Annotated[list[Path], typer.Argument(metavar="DIGEST", help=(
        "one or more digests: Markdown (.md) or JSONL data files, or folders of them (one a day: the "
        "non-English <date>_AI_enhanced_<Language>.jsonl, else <date>.md), or quoted globs"))],
    config: ConfigOpt = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="output root; files go to OUT/<digest-stem>/ [default: run.out_dir of the config, beside the config file; with no config file, ./outputs]")] = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    limit: Annotated[Optional[int], typer.Option("--limit", min=0, help="process only the first N papers")] = None,
    ids: Annotated[Optional[list[str]], typer.Option("--ids", help="process only these arXiv ids (comma-separated; repeatable)")] = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    concurrency: ConcurrencyOpt = None,
    timeout: TimeoutOpt = None,
    overrides: SetOpt = None,
    variant: VariantOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the run summary as JSON instead of a table")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="estimate calls, tokens and cost of one DIGEST; call no model, write nothing (not with --batch)")] = False,
    no_reuse: Annotated[bool, typer.Option("--no-reuse", help="translate each day's own text, even for a paper an earlier day under the same output root finished with the same abstract")] = False,
    batch: Annotated[bool, typer.Option("--batch", help="send the requests through the provider's Batch API (openai), round by round, then write the outputs from the cache; resumable (OUT/.batch-state.json)")] = False,
    allow_direct: Annotated[bool, typer.Option("--allow-direct", help="with --batch: send requests no batch answered as direct calls [default: their papers are written failed]")] = False,
    batch_poll: Annotated[Optional[float], typer.Option("--batch-poll", min=0.001, help="with --batch: seconds before the first status check; x1.5 each check, at most 60 (or this, if longer) [default: 5]")] = None,
    debug: DebugOpt = False,
) -> None:
    """Run the nightly job: parse DIGEST, translate, re-summarize, validate, write JSON.

    Outputs go to OUT/<digest-stem>/: papers/<id>.json, digest.json, run.json, digest.en.md and
    the publication files. Every model reply is cached, so running again costs no model calls. With
    several digests (or a folder), each day runs in date order into its own folder, a paper an
    earlier day finished is reused, a day that cannot be read is reported and the others go on, a
    day unchanged since its last complete run is skipped, and OUT/backfill.json sums up every day
    (also with --batch; --json then prints {"batch", "runs", "backfill"}). Exit 0 every paper ok
    or repaired, 1 some failed validation or were skipped (budget reached) or an input record could
    not be read as a paper, 2 bad input or config (with several days: the worst of the days).
    """
    from pipeline.app import RunOptions

    try:
        paper_ids = split_ids(ids)
    except HANDLED as exc:
        fail(exc, debug)
    options = RunOptions(config=config, overrides=list(overrides or []), out_dir=out_dir, cache_dir=cache_dir,
                         no_cache=no_cache, limit=limit, ids=paper_ids, provider=provider,
                         base_url=base_url, model=model, concurrency=concurrency, timeout=timeout, variant=variant,
                         reuse=not no_reuse)
    if dry_run and batch:
        from pipeline.errors import ConfigError
        fail(ConfigError("--dry-run", ["not with --batch (it would send the batches): run --dry-run without --batch "
                                       "for the estimate; batch answers cost the batch_discount of its prices"]), debug)
    several = len(digests) > 1 or digests[0].is_dir() or any(c in str(digests[0]) for c in "*?[")
    if batch or allow_direct or batch_poll is not None:
        _batch(digests, options, batch=batch, allow_direct=allow_direct, poll=batch_poll, as_json=as_json,
               debug=debug, several=several)
    if several:
        return _backfill(digests, options, as_json, debug, dry_run)
    if dry_run:
        return _dry_run(digests[0], options, as_json, debug)
    _run_one(digests[0], options, as_json, debug)


def _run_one(digest: Path, options, as_json: bool, debug: bool) -> None:
    """``run DIGEST`` (one day): a progress bar, the run summary (a table, or JSON), the exit code."""
    from pipeline.app import execute_run
    from pipeline.report import print_run_summary, progress_listener

    try:
        with progress_listener(err, disable=as_json) as listener:
            result = execute_run(digest, options, listener)
    except HANDLED as exc:
        fail(exc, debug)
    except KeyboardInterrupt:
        err.print("interrupted: finished papers are written and cached; run again to resume")
        raise typer.Exit(130)
    if as_json:
        out.print_json(result.summary.model_dump_json())
    else:
        print_run_summary(err, result)
    statuses = {d.validation.status for d in result.documents}  # this run's papers, not earlier runs'
    problems = result.summary.records_skipped or result.summary.outputs_unreadable
    raise typer.Exit(1 if statuses & {"failed", "skipped"} or problems else 0)


def _batch(digests: list[Path], options, **flags) -> None:
    """``run DIGEST... --batch``: every day the arguments name, through the Batch API (:mod:`pipeline.batch`)."""
    from pipeline.batch.cli import run_batch_command
    from pipeline.days import select_days

    try:
        selection = select_days(list(digests))
    except HANDLED as exc:
        fail(exc, flags["debug"])
    run_batch_command([day.path for day in selection.days], options, batch=flags["batch"],
                      allow_direct=flags["allow_direct"], poll=flags["poll"], as_json=flags["as_json"],
                      debug=flags["debug"], skipped=selection.skipped, backfill=flags["several"])


def _backfill(digests: list[Path], options, as_json: bool, debug: bool, dry_run: bool) -> None:
    """``run DIGEST...`` over several days (:mod:`pipeline.backfill`): one progress display, the
    backfill summary (a table, or JSON), the worst day's exit code."""
    from pipeline.backfill import execute_backfill
    from pipeline.report_backfill import backfill_progress, print_backfill

    try:
        if dry_run:
            from pipeline.errors import ConfigError

            raise ConfigError("--dry-run", ["it estimates one digest at a time: pass one DIGEST"])
        with backfill_progress(err, disable=as_json) as listener:
            result = execute_backfill(list(digests), options, listener)
    except HANDLED as exc:
        fail(exc, debug)
    except KeyboardInterrupt:
        err.print("interrupted: finished papers are written and cached; run again to resume")
        raise typer.Exit(130)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        print_backfill(err, result)
    raise typer.Exit(result.exit_code)


def _dry_run(digest: Path, options, as_json: bool, debug: bool) -> None:
    """``run --dry-run``: print the estimate (a table, or JSON)."""
    from pipeline.app import execute_estimate
    from pipeline.report import print_estimate

    try:
        estimate = execute_estimate(digest, options)
    except HANDLED as exc:
        fail(exc, debug)
    if as_json:
        sys.stdout.write(estimate.model_dump_json(indent=2) + "\n")
    else:
        print_estimate(out, estimate)


@app.command(cls=Command)
def rerun(
    arxiv_id: Annotated[str, typer.Argument(metavar="ARXIV_ID", help="the paper's arXiv id, e.g. 2601.16302")],
    digest: Annotated[Path, typer.Option("--digest", help="the digest the paper is in (Markdown or JSONL)")],
    from_stage: Annotated[Optional[str], typer.Option(
        "--from-stage", help=f"force this stage and the later ones past the cache: {' | '.join(stage_names())}; "
                             "validate = re-check the written paper, no model call "
                             "[default: force nothing, use the cache wherever it applies]")] = None,
    config: ConfigOpt = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="output root of the previous run; files are in OUT/<digest-stem>/ [default: run.out_dir of the config; with no config file, ./outputs]")] = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    concurrency: ConcurrencyOpt = None,
    timeout: TimeoutOpt = None,
    overrides: SetOpt = None,
    variant: VariantOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the paper document and run summary as JSON")] = False,
    debug: DebugOpt = False,
) -> None:
    """Redo one paper of a finished run and update its outputs in place, atomically.

    Rewrites papers/<id>.json and updates digest.json (that paper's entry, run summary
    recomputed), digest.en.md and run.json; no other file is touched. The output folder must hold
    a previous run of DIGEST (else exit 2). Exit 0 the paper is ok or repaired, 1 it failed
    validation, 2 bad input or config.
    """
    from pipeline.app import RunOptions, execute_rerun
    from pipeline.report import print_rerun

    options = RunOptions(config=config, overrides=list(overrides or []), out_dir=out_dir, cache_dir=cache_dir,
                         no_cache=no_cache, provider=provider, base_url=base_url, model=model,
                         concurrency=concurrency, timeout=timeout, variant=variant)
    try:
        normalized = paper_id(arxiv_id)
    except HANDLED as exc:
        fail(exc, debug)
    try:
        result = execute_rerun(normalized, digest, options, from_stage)
    except HANDLED as exc:
        fail(exc, debug)
    except KeyboardInterrupt:
        err.print("interrupted: nothing was rewritten")
        raise typer.Exit(130)
    if as_json:
        sys.stdout.write(json.dumps({"paper": result.document.model_dump(mode="json"), "run": result.summary},
                                    ensure_ascii=False, indent=2) + "\n")
    else:
        print_rerun(err, result)
    raise typer.Exit(result.exit_code)


@app.command(cls=Command)
def parse(
    digest: DigestArg,
    as_json: Annotated[bool, typer.Option("--json", help="print the parsed papers as a JSON array (warnings go to stderr)")] = False,
    debug: DebugOpt = False,
) -> None:
    """Parse DIGEST only: paper counts by category and every warning with its line number.

    Exit 0 parsed, 1 some input record could not be read as a paper (skipped, named with its
    line), 2 DIGEST is not a digest or cannot be read.
    """
    from pipeline.parse import parse_digest
    from pipeline.report import print_parse_report, print_parse_warnings

    try:
        parsed = parse_digest(digest)
    except HANDLED as exc:
        fail(exc, debug)
    if as_json:
        sys.stdout.write(json.dumps([p.model_dump(mode="json") for p in parsed.papers], ensure_ascii=False, indent=2) + "\n")
        print_parse_warnings(err, parsed)  # on stderr: stdout stays one JSON document
    else:
        print_parse_report(out, parsed)
    raise typer.Exit(1 if any(w.skipped for w in parsed.warnings) else 0)


@app.command(cls=Command)
def validate(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="a papers/<id>.json file, an outputs/<digest>/ folder, or outputs/")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON instead of a table")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report only; rewrite nothing")] = False,
    debug: DebugOpt = False,
) -> None:
    """Re-run the deterministic checks on written outputs (no model calls) and update them.

    Rewrites each paper's validation block (and digest.json / run.json counts) atomically where it
    changed, then prints failures per check and status counts, before -> after.
    Exit 0 no paper failed, 1 some failed, 2 PATH is not an output or holds an invalid document.
    """
    from pipeline.report import print_validate_report
    from pipeline.validate.command import validate_path

    try:
        report = validate_path(path, dry_run=dry_run)
    except HANDLED as exc:
        fail(exc, debug)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        print_validate_report(out, report)
    raise typer.Exit(report.exit_code)


@app.command("eval", cls=Command)
def eval_command(
    digest: DigestArg,
    variants: Annotated[Optional[list[str]], typer.Option(
        "--variant", help="NAME from the config's variants: (or 'base'), or an ad-hoc 'NAME=KEY=VALUE;KEY=VALUE'; "
                          "repeatable, the first is the baseline [default: every variant in the config]")] = None,
    sample: Annotated[Optional[int], typer.Option("--sample", min=1, help="compare on N papers drawn with --seed")] = None,
    ids: Annotated[Optional[list[str]], typer.Option("--ids", help="compare on these arXiv ids (comma-separated; repeatable)")] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed of --sample")] = 0,
    name: Annotated[Optional[str], typer.Option("--name", help="eval run name [default: <digest-stem>-<UTC time>]")] = None,
    config: ConfigOpt = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="output root; files go to OUT/eval/<name>/ [default: run.out_dir of the config; with no config file, ./outputs]")] = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    concurrency: ConcurrencyOpt = None,
    timeout: TimeoutOpt = None,
    overrides: SetOpt = None,
    show_diff: Annotated[bool, typer.Option("--show-diff", help="show per-field diffs where a variant's output differs from the baseline")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print report.json instead of the table")] = False,
    debug: DebugOpt = False,
) -> None:
    """Run prompt/model variants on the same papers and compare them side by side.

    Each variant is the config (+ environment, --set and flags) plus its own overrides; all
    variants share one cache, so stages they have in common run once. Writes each variant's
    outputs and report.json / report.md to OUT/eval/<name>/. Exit 0 when it ran (regressions are
    reported, not errors), 2 on bad config or input.
    """
    from pipeline.app import RunOptions
    from pipeline.eval import EvalOptions, execute_eval
    from pipeline.eval.render import print_eval

    run_options = RunOptions(config=config, overrides=list(overrides or []), out_dir=out_dir, cache_dir=cache_dir,
                             no_cache=no_cache, provider=provider, base_url=base_url, model=model,
                             concurrency=concurrency, timeout=timeout)
    try:
        paper_ids = split_ids(ids)
    except HANDLED as exc:
        fail(exc, debug)
    options = EvalOptions(run=run_options, variants=list(variants or []), sample=sample, ids=paper_ids,
                          seed=seed, name=name, show_diff=show_diff)

    def listener(variant_name: str, event) -> None:
        if event.kind == "run_started" and not as_json:
            err.print(f"variant {variant_name}: {event.detail} papers", markup=False, highlight=False)

    try:
        result = execute_eval(digest, options, listener=listener)
    except HANDLED as exc:
        fail(exc, debug)
    except KeyboardInterrupt:
        err.print("interrupted: finished papers are cached; run again to resume")
        raise typer.Exit(130)
    if as_json:
        sys.stdout.write(result.report.model_dump_json(indent=2) + "\n")
    else:
        print_eval(out, result.report, show_diff=show_diff, out_dir=str(result.out_dir))


@app.command(cls=Command)
def schema(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write to this file instead of stdout")] = None,
) -> None:
    """Print the JSON Schema of the paper document (papers/<id>.json), generated from the models."""
    from pipeline.models import PaperDocument
    from pipeline.output.files import write_text_atomic

    text = json.dumps(PaperDocument.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        try:
            write_text_atomic(output, text)
        except OSError as exc:
            fail(exc, False)
    else:
        sys.stdout.write(text)


@app.command(cls=Command)
def version() -> None:
    """Print the pipeline version."""
    out.print(f"digest-pipeline {__version__}")


from pipeline.batch import cli as _batch_cli  # noqa: E402,F401 - registers `batch export` / `batch import` on app
from pipeline.publish import cli as _publish_cli  # noqa: E402,F401 - registers `publish` on app


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # llama.cpp threads spin otherwise
    app()


if __name__ == "__main__":
    main()
