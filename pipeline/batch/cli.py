"""Command-line glue of batch mode: ``run --batch`` (called from ``run``), ``batch export``, ``batch import``.

Registered on the main app by :mod:`pipeline.cli` (its last lines); it uses that module's option
types, consoles and error printing, so every command reads and fails the same way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from pipeline.cli_common import (
    HANDLED,
    BaseUrlOpt,
    CacheDirOpt,
    ConfigOpt,
    DebugOpt,
    ModelOpt,
    ProviderOpt,
    SetOpt,
    VariantOpt,
    app,
    err,
    fail,
    out,
    split_ids,
)

batch_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="Batch engines you run yourself (vLLM run_batch...): export the requests of the next "
                             "round, import the answers.")
app.add_typer(batch_app, name="batch")


def _say(text: str) -> None:
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def run_batch_command(digests: list[Path], options, *, batch: bool, allow_direct: bool, poll: float | None,
                      as_json: bool, debug: bool, skipped: list[str] | None = None,
                      backfill: bool | None = None) -> NoReturn:
    """``run DIGEST... --batch``: the rounds with progress lines, then each digest's summary, or
    for several digests the backfill table (or JSON: ``{"batch": ..., "runs": [...]}``, plus
    ``"backfill"`` for several digests); exits like ``run`` (0, 1, 2; 130 on Ctrl-C; several
    digests: the worst day's). ``skipped``: files the day selection left out; ``backfill``: run
    as a backfill (several digests, or a folder or glob naming one).
    ``--allow-direct`` or ``--batch-poll`` without ``--batch`` is an error (exit 2)."""
    from pipeline.errors import ConfigError

    if not batch:
        fail(ConfigError("--allow-direct" if allow_direct else "--batch-poll", ["only with --batch"]), debug)
    _run_batch(digests, options, allow_direct=allow_direct, poll=poll, as_json=as_json, debug=debug,
               skipped=skipped or [], backfill=backfill)


def _run_batch(digests: list[Path], options, *, allow_direct: bool, poll: float | None, as_json: bool,
               debug: bool, skipped: list[str], backfill: bool | None) -> NoReturn:
    from pipeline.batch.app import execute_batch_run
    from pipeline.batch.driver import BatchOptions
    from pipeline.batch.poll import PollPolicy
    from pipeline.batch.report import event_line, report_line
    from pipeline.report import print_run_summary, progress_listener
    from pipeline.report_backfill import print_backfill

    batch = BatchOptions(allow_direct=allow_direct, poll=PollPolicy(first=poll, most=max(poll, PollPolicy.most))
                         if poll else PollPolicy())
    try:
        with progress_listener(err, disable=as_json) as listener:
            result = execute_batch_run(digests, options, batch, on_batch=lambda e: _say(event_line(e)),
                                       listener=listener, skipped=skipped, backfill=backfill)
    except HANDLED as exc:
        fail(exc, debug)
    except KeyboardInterrupt:
        err.print("interrupted: written papers and imported answers stay; batches still at the provider keep "
                  "running and are listed in the state file (.batch-state.json); run the same command again to go on "
                  "(nothing is resubmitted)")
        raise typer.Exit(130)
    _say(report_line(result.report))
    if result.report.unanswered and not allow_direct:
        _say(f"{len(result.report.unanswered)} requests have no answer: their papers are written failed (check "
             "provider); run the same command again to retry them, or add --allow-direct")
    backfill = result.backfill
    if as_json:
        document = {"batch": result.report.to_dict(), "runs": [r.summary_json for r in result.runs]}
        if backfill is not None:
            document["backfill"] = backfill.model_dump(mode="json")
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif backfill is not None:
        print_backfill(err, backfill)
    else:
        for run in result.runs:
            print_run_summary(err, run)
    if backfill is not None:
        raise typer.Exit(backfill.exit_code)
    raise typer.Exit(max((_exit_code(run) for run in result.runs), default=0))


def _exit_code(result) -> int:
    """``run``'s exit code for one digest: 1 when a paper of this run failed or was skipped, or
    a record or an earlier paper file could not be read; else 0."""
    statuses = {d.validation.status for d in result.documents}
    problems = result.summary.records_skipped or result.summary.outputs_unreadable
    return 1 if statuses & {"failed", "skipped"} or problems else 0


@batch_app.command("export")
def export(
    digests: Annotated[list[Path], typer.Argument(metavar="DIGEST...", help="digests (Markdown or JSONL data files)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the JSONL file to write (more files, if any, are "
                                                                "named FILE.2.jsonl, FILE.3.jsonl...)")],
    config: ConfigOpt = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="output root [default: run.out_dir of the config]")] = None,
    cache_dir: CacheDirOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=0, help="only the first N papers of each digest")] = None,
    ids: Annotated[Optional[list[str]], typer.Option("--ids", help="only these arXiv ids (comma-separated; repeatable)")] = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    overrides: SetOpt = None,
    variant: VariantOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Write the requests of the next round as Batch API input lines (nothing is sent).

    Run them with your engine (python -m vllm.entrypoints.openai.run_batch -i FILE -o results.jsonl
    --model M), then `batch import results.jsonl`; repeat until export has nothing left, then
    `run` writes the outputs from the cache with no model call. Use the same provider, model and
    base URL options as that final run: they are part of every cache key. Exit 0 (also when
    nothing is left), 2 bad input or config.
    """
    from pipeline.app import RunOptions
    from pipeline.batch.app import execute_export

    try:
        options = RunOptions(config=config, overrides=list(overrides or []), out_dir=out_dir, cache_dir=cache_dir,
                             limit=limit, ids=split_ids(ids), provider=provider, base_url=base_url, model=model,
                             variant=variant)
        result = execute_export(digests, options, output)
    except HANDLED as exc:
        fail(exc, debug)
    if not result.files:
        out.print("nothing left to send: every request is answered in the cache; `run` writes the outputs with no "
                  "model call", markup=False, highlight=False)
        return
    for path, endpoint, lines in result.files:
        out.print(f"{path}: {lines} requests ({endpoint})", markup=False, highlight=False)
    if result.waiting:
        out.print(f"{result.waiting} more requests wait for these answers: import them, then export again",
                  markup=False, highlight=False)


@batch_app.command("import")
def import_results(
    results: Annotated[Path, typer.Argument(metavar="RESULTS", help="a batch output or error file (JSONL)")],
    config: ConfigOpt = None,
    cache_dir: CacheDirOpt = None,
    overrides: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the counts and failed lines as JSON")] = False,
    debug: DebugOpt = False,
) -> None:
    """Put the answers of a batch output file into the stage cache.

    Reads the OpenAI Batch API's output and error lines and vLLM run_batch's (a response.body
    wrapper, or the bare completion of older versions). Exit 0 every line gave an answer, 1 some
    lines failed (each named) or answer no request `batch export` wrote with this cache, 2 the
    file cannot be read or is not a batch output file.
    """
    from pipeline.app import RunOptions
    from pipeline.batch.app import execute_import

    try:
        result = execute_import(results, RunOptions(config=config, overrides=list(overrides or []),
                                                    cache_dir=cache_dir))
    except HANDLED as exc:
        fail(exc, debug)
    if as_json:
        sys.stdout.write(json.dumps({"answers": result.answers, "cache_dir": str(result.cache_dir),
                                     "unmatched": result.unmatched,
                                     "failed": [f.describe(str(results)) for f in result.failures]}, indent=2) + "\n")
    else:
        out.print(f"{result.answers} answers put into the cache ({result.cache_dir})", markup=False, highlight=False)
        for failure in result.failures:
            _say(f"failed: {failure.describe(str(results))}")
        if result.unmatched:
            _say(f"warning: {result.unmatched} of them answer no request `batch export` wrote with this cache "
                 "(a results file of another run, or exported with another --cache-dir): no run will ask for them")
    raise typer.Exit(1 if result.failures or result.unmatched else 0)
