"""``digest-pipeline publish``: the command line of :mod:`pipeline.publish.command` (registered on
the app of :mod:`pipeline.cli_common`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli_common import HANDLED, Command, ConfigOpt, DebugOpt, SetOpt, app, fail, out


@app.command(cls=Command)
def publish(
    output_dirs: Annotated[list[Path], typer.Argument(metavar="OUTPUT_DIR", help="output folders of runs (outputs/<digest-stem>/), each holding its <date>_AI_enhanced_English.jsonl")],
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
        fail(exc, debug)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        for line in report_lines(report):
            out.print(line, markup=False, soft_wrap=True)


