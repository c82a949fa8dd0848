"""The ``digest-pipeline`` command line: thin wrappers that parse arguments, call a function, print.

Exit codes (docs/PRODUCT.md): 0 every paper ok or repaired; 1 the run finished but some papers
failed validation (all written); 2 bad input or config (one clear line, nothing half-written).
Errors print as one line on stderr; ``--debug`` shows the traceback too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from pipeline import __version__
from pipeline.errors import PipelineError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Turn daily-arXiv-ai-enhanced digests (Chinese LLM summaries) into validated English JSON.")
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="config file [default: ./config.yaml]")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="override a config key, e.g. --set stages.translate.prompt=NAME (repeatable)")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="show tracebacks on errors")]


def _fail(exc: BaseException, debug: bool) -> None:
    if debug:
        raise exc
    err.print(f"error: {exc}", markup=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code if isinstance(exc, PipelineError) else 2)


@app.command()
def run(
    digest: Annotated[Path, typer.Argument(help="the digest: Markdown (.md) or JSONL data file")],
    config: ConfigOpt = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="output root; files go to OUT/<digest-stem>/ [default: outputs]")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="stage cache folder [default: .cache/digest-pipeline]")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="keep the cache in memory only for this run")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", min=0, help="process only the first N papers")] = None,
    ids: Annotated[Optional[str], typer.Option("--ids", help="process only these arXiv ids (comma-separated)")] = None,
    provider: Annotated[Optional[str], typer.Option("--provider", help="local | openai | fake")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="model for every stage (overrides config)")] = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1, help="papers processed in parallel")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", min=0.001, help="seconds per model request")] = None,
    overrides: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the run summary as JSON instead of a table")] = False,
    debug: DebugOpt = False,
) -> None:
    """Run the nightly job: parse DIGEST, translate, re-summarize, validate, write JSON.

    Outputs go to OUT/<digest-stem>/: papers/<id>.json, digest.json, run.json, digest.en.md.
    Every model reply is cached, so running again costs no model calls.
    """
    from pipeline.app import RunOptions, execute_run
    from pipeline.report import print_run_summary, progress_listener

    options = RunOptions(config=config, overrides=list(overrides or []), out_dir=out_dir, cache_dir=cache_dir,
                         no_cache=no_cache, limit=limit, ids=_split_ids(ids), provider=provider,
                         base_url=base_url, model=model, concurrency=concurrency, timeout=timeout)
    try:
        with progress_listener(err, disable=as_json) as listener:
            result = execute_run(digest, options, listener)
    except PipelineError as exc:
        _fail(exc, debug)
    except KeyboardInterrupt:
        err.print("interrupted: finished papers are written and cached; run again to resume")
        raise typer.Exit(130)
    if as_json:
        out.print_json(result.summary.model_dump_json())
    else:
        print_run_summary(err, result)
    raise typer.Exit(1 if result.summary.status_counts.get("failed") else 0)


@app.command()
def parse(
    digest: Annotated[Path, typer.Argument(help="the digest: Markdown (.md) or JSONL data file")],
    as_json: Annotated[bool, typer.Option("--json", help="print the parsed papers as a JSON array")] = False,
    debug: DebugOpt = False,
) -> None:
    """Parse DIGEST only: paper counts by category and every warning with its line number."""
    from pipeline.parse import parse_digest
    from pipeline.report import print_parse_report

    try:
        parsed = parse_digest(digest)
    except PipelineError as exc:
        _fail(exc, debug)
    if as_json:
        sys.stdout.write(json.dumps([p.model_dump(mode="json") for p in parsed.papers], ensure_ascii=False, indent=2) + "\n")
    else:
        print_parse_report(out, parsed)


@app.command()
def schema(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write to this file instead of stdout")] = None,
) -> None:
    """Print the JSON Schema of the paper document (papers/<id>.json), generated from the models."""
    from pipeline.models import PaperDocument
    from pipeline.output.files import write_text_atomic

    text = json.dumps(PaperDocument.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        write_text_atomic(output, text)
    else:
        sys.stdout.write(text)


@app.command()
def version() -> None:
    """Print the pipeline version."""
    out.print(f"digest-pipeline {__version__}")


def _split_ids(ids: str | None) -> list[str] | None:
    if not ids:
        return None
    from pipeline.parse.ids import normalize_arxiv_id

    return [normalize_arxiv_id(i.strip()) for i in ids.split(",") if i.strip()]


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # llama.cpp threads spin otherwise
    app()


if __name__ == "__main__":
    main()
