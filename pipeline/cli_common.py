"""What every ``digest-pipeline`` command shares: the typer app and consoles, the option types
(one definition each, reused by every command that takes the option), the one-line error
handling, and the parsing of arXiv id arguments."""

from __future__ import annotations

import os
import re
import sys
import traceback
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
import typer.core
from rich.console import Console

from pipeline.errors import PipelineError
from pipeline.messages import os_error_line, shorten_words


class Command(typer.core.TyperCommand):
    """A command whose usage line names its arguments as the README does (``DIGEST``), without the
    braces typer puts around required ones (``{DIGEST}``)."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [re.sub(r"\{([^{}]*)\}", r"\1", piece) for piece in super().collect_usage_pieces(ctx)]


app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Turn daily-arXiv-ai-enhanced digests (Chinese LLM summaries) into validated English JSON.")
PIPED_WIDTH = 160
"""Columns of a table written to a pipe or a file (rich's default there is 80, which cuts the
summary tables' columns); a terminal's own width, or ``COLUMNS``, wins."""


def _width(stream) -> int | None:
    """None (rich decides) for a terminal or with ``COLUMNS`` set, else :data:`PIPED_WIDTH`."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return None if terminal or os.environ.get("COLUMNS") else PIPED_WIDTH


err = Console(stderr=True, highlight=False, width=_width(sys.stderr))
out = Console(highlight=False, width=_width(sys.stdout))

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


def fail(exc: BaseException, debug: bool) -> NoReturn:
    """Print ``exc`` as one ``error:`` line on stderr and exit with its code (a PipelineError's
    ``exit_code``, else 2). ``debug`` prints the traceback first; the line and the code stay the same."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    text = os_error_line(exc) if isinstance(exc, OSError) else str(exc)
    err.print(f"error: {shorten_words(text)}", markup=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code if isinstance(exc, PipelineError) else 2)


def paper_id(raw: str) -> str:
    """The normalized arXiv id of rerun's ARXIV_ID argument; ConfigError when it is not one."""
    from pipeline.errors import ConfigError
    from pipeline.parse.ids import normalize_arxiv_id

    try:
        return normalize_arxiv_id(raw)
    except ValueError as exc:
        raise ConfigError("ARXIV_ID", [str(exc)]) from exc


def split_ids(ids: list[str] | None) -> list[str] | None:
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
