"""The ``digest-pipeline`` command line: thin wrappers that parse arguments, call a function, print.

Exit codes (docs/PRODUCT.md): 0 every paper ok or repaired; 1 the run finished but some papers
failed validation (all written); 2 bad input or config (one clear line, nothing half-written).
Errors print as one line on stderr; ``--debug`` shows the traceback before it, and changes no exit code.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
import typer.core
from rich.console import Console

from pipeline import __version__
from pipeline.errors import PipelineError
from pipeline.messages import os_error_line, shorten_words
from pipeline.stages.registry import stage_names

class _Command(typer.core.TyperCommand):
    """A command whose usage line names its arguments as the README does (``DIGEST``), without the
    braces typer puts around required ones (``{DIGEST}``)."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece
                for piece in super().collect_usage_pieces(ctx)]


app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Turn daily-arXiv-ai-enhanced digests (Chinese LLM summaries) into validated English JSON.")
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

DigestArg = Annotated[Path, typer.Argument(metavar="DIGEST", help="the digest: Markdown (.md) or JSONL data file")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="config file, layered over the packaged defaults (its relative paths resolve against its folder) [default: ./config.yaml if there is one, else the packaged defaults alone]")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="override a config key, e.g. --set stages.translate.prompt=NAME (repeatable)")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="show the traceback before an error line (the exit code is the same)")]
ProviderOpt = Annotated[Optional[str], typer.Option("--provider", help="local | openai | fake")]
BaseUrlOpt = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="model for every stage (overrides config)")]
CONCURRENCY_HELP = ("openai: requests in flight at once (the runner keeps 3 papers per request slot busy); "
                    "local, fake: papers processed in parallel (a local model answers one call at a time)")
ConcurrencyOpt = Annotated[Optional[int], typer.Option("--concurrency", min=1, help=CONCURRENCY_HELP)]
TimeoutOpt = Annotated[Optional[float], typer.Option("--timeout", min=0.001, help="seconds per model request (openai; the local provider ignores it)")]
CacheDirOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="stage cache folder [default: cache.dir of the config; with none, $XDG_CACHE_HOME/digest-pipeline (~/.cache/digest-pipeline)]")]
VariantOpt = Annotated[Optional[str], typer.Option("--variant", help="apply a variant from the config's variants: section")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="keep the cache in memory only for this run")]


#: Errors the CLI reports as one line (exit 2, or the error's own code); OSError covers output and
#: cache paths that cannot be written (a file where a folder is expected, permissions, full disk).
HANDLED = (PipelineError, OSError)


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    """Print ``exc`` as one ``error:`` line on stderr and exit with its code (a PipelineError's
    ``exit_code``, else 2). ``debug`` prints the traceback first; the line and the code stay the same."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    text = os_error_line(exc) if isinstance(exc, OSError) else str(exc)
    err.print(f"error: {shorten_words(text)}", markup=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code if isinstance(exc, PipelineError) else 2)


@app.command(cls=_Command)
def run(
    digest: DigestArg,
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
    dry_run: Annotated[bool, typer.Option("--dry-run", help="estimate calls, tokens and cost; call no model, write nothing")] = False,
    batch: Annotated[bool, typer.Option("--batch", help="send the requests through the provider's Batch API (openai), round by round, then write the outputs from the cache; resumable (OUT/.batch-state.json)")] = False,
    allow_direct: Annotated[bool, typer.Option("--allow-direct", help="with --batch: send requests no batch answered as direct calls [default: their papers are written failed]")] = False,
    batch_poll: Annotated[Optional[float], typer.Option("--batch-poll", min=0.001, help="with --batch: seconds before the first status check; x1.5 each check, at most 60 (or this, if longer) [default: 5]")] = None,
    debug: DebugOpt = False,
) -> None:
    """Run the nightly job: parse DIGEST, translate, re-summarize, validate, write JSON.

    Outputs go to OUT/<digest-stem>/: papers/<id>.json, digest.json, run.json, digest.en.md.
    Every model reply is cached, so running again costs no model calls. Exit 0 every paper ok or
    repaired, 1 some failed validation or were skipped (budget reached) or an input record could
    not be read as a paper, 2 bad input or config.
    """
    from pipeline.app import RunOptions, execute_run
    from pipeline.report import print_run_summary, progress_listener

    try:
        paper_ids = _split_ids(ids)
    except HANDLED as exc:
        _fail(exc, debug)
    options = RunOptions(config=config, overrides=list(overrides or []), out_dir=out_dir, cache_dir=cache_dir,
                         no_cache=no_cache, limit=limit, ids=paper_ids, provider=provider,
                         base_url=base_url, model=model, concurrency=concurrency, timeout=timeout, variant=variant)
    if dry_run:
        return _dry_run(digest, options, as_json, debug)
    if batch or allow_direct or batch_poll is not None:
        from pipeline.batch.cli import run_batch_command
        run_batch_command([digest], options, batch=batch, allow_direct=allow_direct, poll=batch_poll,
                          as_json=as_json, debug=debug)
    try:
        with progress_listener(err, disable=as_json) as listener:
            result = execute_run(digest, options, listener)
    except HANDLED as exc:
        _fail(exc, debug)
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


def _dry_run(digest: Path, options, as_json: bool, debug: bool) -> None:
    """``run --dry-run``: print the estimate (a table, or JSON)."""
    from pipeline.app import execute_estimate
    from pipeline.report import print_estimate

    try:
        estimate = execute_estimate(digest, options)
    except HANDLED as exc:
        _fail(exc, debug)
    if as_json:
        sys.stdout.write(estimate.model_dump_json(indent=2) + "\n")
    else:
        print_estimate(out, estimate)


@app.command(cls=_Command)
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
        paper_id = _paper_id(arxiv_id)
    except HANDLED as exc:
        _fail(exc, debug)
    try:
        result = execute_rerun(paper_id, digest, options, from_stage)
    except HANDLED as exc:
        _fail(exc, debug)
    except KeyboardInterrupt:
        err.print("interrupted: nothing was rewritten")
        raise typer.Exit(130)
    if as_json:
        sys.stdout.write(json.dumps({"paper": result.document.model_dump(mode="json"), "run": result.summary},
                                    ensure_ascii=False, indent=2) + "\n")
    else:
        print_rerun(err, result)
    raise typer.Exit(result.exit_code)


@app.command(cls=_Command)
def parse(
    digest: DigestArg,
    as_json: Annotated[bool, typer.Option("--json", help="print the parsed papers as a JSON array")] = False,
    debug: DebugOpt = False,
) -> None:
    """Parse DIGEST only: paper counts by category and every warning with its line number.

    Exit 0 parsed, 1 some input record could not be read as a paper (skipped, named with its
    line), 2 DIGEST is not a digest or cannot be read.
    """
    from pipeline.parse import parse_digest
    from pipeline.report import print_parse_report

    try:
        parsed = parse_digest(digest)
    except HANDLED as exc:
        _fail(exc, debug)
    if as_json:
        sys.stdout.write(json.dumps([p.model_dump(mode="json") for p in parsed.papers], ensure_ascii=False, indent=2) + "\n")
    else:
        print_parse_report(out, parsed)
    raise typer.Exit(1 if any(w.skipped for w in parsed.warnings) else 0)


@app.command(cls=_Command)
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
        _fail(exc, debug)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        print_validate_report(out, report)
    raise typer.Exit(report.exit_code)


@app.command("eval", cls=_Command)
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
        paper_ids = _split_ids(ids)
    except HANDLED as exc:
        _fail(exc, debug)
    options = EvalOptions(run=run_options, variants=list(variants or []), sample=sample, ids=paper_ids,
                          seed=seed, name=name, show_diff=show_diff)

    def listener(variant_name: str, event) -> None:
        if event.kind == "run_started" and not as_json:
            err.print(f"variant {variant_name}: {event.detail} papers", markup=False, highlight=False)

    try:
        result = execute_eval(digest, options, listener=listener)
    except HANDLED as exc:
        _fail(exc, debug)
    except KeyboardInterrupt:
        err.print("interrupted: finished papers are cached; run again to resume")
        raise typer.Exit(130)
    if as_json:
        sys.stdout.write(result.report.model_dump_json(indent=2) + "\n")
    else:
        print_eval(out, result.report, show_diff=show_diff, out_dir=str(result.out_dir))


@app.command(cls=_Command)
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
            _fail(exc, False)
    else:
        sys.stdout.write(text)


@app.command(cls=_Command)
def version() -> None:
    """Print the pipeline version."""
    out.print(f"digest-pipeline {__version__}")


def _paper_id(raw: str) -> str:
    """The normalized arXiv id of rerun's ARXIV_ID argument; ConfigError when it is not one."""
    from pipeline.errors import ConfigError
    from pipeline.parse.ids import normalize_arxiv_id

    try:
        return normalize_arxiv_id(raw)
    except ValueError as exc:
        raise ConfigError("ARXIV_ID", [str(exc)]) from exc


def _split_ids(ids: list[str] | None) -> list[str] | None:
    """Every ``--ids`` value (comma-separated, the option repeatable) as normalized arXiv ids,
    each once, in the order given; ConfigError for an empty list or a malformed id."""
    if ids is None:
        return None
    from pipeline.errors import ConfigError
    from pipeline.parse.ids import normalize_arxiv_id

    parts = [i.strip() for value in ids for i in value.split(",") if i.strip()]
    if not parts:
        raise ConfigError("--ids", ["no arXiv id given"])
    try:
        return list(dict.fromkeys(normalize_arxiv_id(i) for i in parts))
    except ValueError as exc:
        raise ConfigError("--ids", [str(exc)]) from exc


@app.command()
def publish(
    output_dirs: Annotated[list[Path], typer.Argument(help="output folders of runs (outputs/<digest-stem>/), each holding its <date>_AI_enhanced_English.jsonl")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="a checkout of the site's data branch (holds data/ and assets/)")],
    init: Annotated[bool, typer.Option("--init", help="create data/ (and assets/) when DIR has no data/ folder")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be added or replaced; write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Copy English data files into a daily-arXiv-ai-enhanced site's data branch checkout.

    Copies each folder's English data file to DIR/data/, rewrites DIR/assets/file-list.txt as every
    DIR/data/*.jsonl (sorted) and DIR/feed.xml as the Atom feed of the last publish.feed_days days.
    Writes only files whose bytes change, atomically; never touches another file. Run it after the
    fork's own nightly job, every night (that job overwrites file-list.txt). Exit 0 published (or
    nothing to change), 2 bad input, DIR not a data checkout (see --init) or not writable.
    """
    from pipeline.publish.command import publish as publish_outputs
    from pipeline.publish.command import report_lines
    from pipeline.publish.settings import load_publish_config

    try:
        settings = load_publish_config(config, list(overrides or []))
        report = publish_outputs(list(output_dirs), data_dir, init=init, dry_run=dry_run, settings=settings)
    except HANDLED as exc:
        _fail(exc, debug)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        for line in report_lines(report):
            out.print(line, markup=False, soft_wrap=True)


from pipeline.batch import cli as _batch_cli  # noqa: E402,F401 - registers `batch export` / `batch import` on app


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # llama.cpp threads spin otherwise
    app()


if __name__ == "__main__":
    main()
