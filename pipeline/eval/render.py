"""Render an :class:`~pipeline.eval.compare.EvalReport`: rich table, Markdown report, diff view.

In every rendering the best value of a row is marked ``★`` and a value worse than the
baseline's ``▼`` (rows without a direction, e.g. ``papers``, are never marked).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.eval.compare import EvalReport, FieldDiff, MetricRow

BEST, REGRESSION = "★", "▼"
_DIFF_STYLES = {"-": "red", "+": "green", "@": "dim"}
LEGEND = f"{BEST} best in row · {REGRESSION} worse than the baseline"


def format_value(row: MetricRow, value: float | int | None) -> str:
    """One cell's text, without markers: ``unknown`` for a missing value."""
    if value is None:
        return "unknown"
    if row.key == "pass_rate":
        return f"{value:.1f}%"
    if row.key == "cost":
        return f"${value:.4f}"
    if row.key in ("median_latency", "wall_seconds"):
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return str(value)


def cell_text(row: MetricRow, variant: str) -> str:
    """A cell with its markers, e.g. ``12 ★`` or ``3 ▼``."""
    text = format_value(row, row.values.get(variant))
    if variant in row.best:
        text += f" {BEST}"
    if variant in row.regressions:
        text += f" {REGRESSION}"
    return text


def eval_table(report: EvalReport) -> Table:
    """The side-by-side table: a row per metric, a column per variant (baseline first)."""
    table = Table(title=f"eval {report.run_name}: {len(report.papers)} papers of {report.digest}",
                  title_justify="left", caption=LEGEND, caption_justify="left")
    table.add_column("metric", style="bold")
    for info in report.variants:
        table.add_column(f"{info.name}\n(baseline)" if info.baseline else info.name, justify="right")
    for row in report.rows:
        cells = []
        for info in report.variants:
            style = "red" if info.name in row.regressions else "bold green" if info.name in row.best else ""
            cells.append(Text(cell_text(row, info.name), style=style))
        table.add_row(row.label, *cells)
    return table


def print_eval(console: Console, report: EvalReport, *, show_diff: bool = False, out_dir: str = "") -> None:
    """Table, then what each variant is, the notes, and (``show_diff``) the per-field diffs."""
    console.print(eval_table(report))
    for info in report.variants:
        what = "; ".join(info.overrides) or info.description or "no overrides"
        console.print(f"{info.name}: {what}  [{_prompt_line(info.prompts)}]", markup=False, highlight=False,
                      soft_wrap=True)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if show_diff:
        print_diffs(console, report.diffs)
    if out_dir:
        console.print(f"report: {out_dir}/report.md, report.json", markup=False, highlight=False, soft_wrap=True)


def print_diffs(console: Console, diffs: list[FieldDiff]) -> None:
    """Each differing field: a header line, then the unified diff with -/+ lines coloured."""
    if not diffs:
        console.print("no output differs from the baseline")
        return
    for diff in diffs:
        console.print(Text(f"── {diff.paper_id} · {diff.field} · {diff.variant} vs baseline", style="bold"))
        for line in diff.diff.splitlines():
            console.print(Text(line, style=_DIFF_STYLES.get(line[:1], "")), soft_wrap=True)


def report_markdown(report: EvalReport, *, show_diff: bool = False) -> str:
    """``report.md``: the same table, the variants, the notes and (``show_diff``) the diffs."""
    selection = _selection_text(report.selection)
    lines = [f"# Eval {report.run_name}", "",
             f"Digest `{report.digest}` · {len(report.papers)} papers ({selection}) · baseline "
             f"`{report.baseline}` · {report.created_at}", "",
             "| metric | " + " | ".join(_header(i.name, i.baseline) for i in report.variants) + " |",
             "|---|" + "---:|" * len(report.variants)]
    for row in report.rows:
        lines.append(f"| {row.label.strip()} | " + " | ".join(cell_text(row, i.name) for i in report.variants) + " |")
    lines += ["", LEGEND, "", "## Variants", ""]
    for info in report.variants:
        overrides = "; ".join(f"`{o}`" for o in info.overrides) or "none"
        lines.append(f"- **{info.name}**{' (baseline)' if info.baseline else ''} — {info.description or info.origin}; "
                     f"overrides: {overrides}; prompts: {_prompt_line(info.prompts)}; models: "
                     f"{', '.join(f'{k}={v}' for k, v in info.models.items())}; outputs: `{info.out_dir}`")
    if report.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in report.notes)]
    lines += ["", "## Papers", "", ", ".join(report.papers) or "none"]
    if show_diff:
        lines += ["", "## Output differences", ""]
        for diff in report.diffs:
            lines += [f"### {diff.paper_id} · {diff.field} · {diff.variant} vs baseline", "", "```diff", diff.diff,
                      "```", ""]
        if not report.diffs:
            lines.append("No output differs from the baseline.")
    return "\n".join(lines).rstrip() + "\n"


def _selection_text(selection: dict[str, object]) -> str:
    if selection.get("mode") == "sample":
        return f"a sample of {selection['sample']} of {selection['of']}, seed {selection['seed']}"
    if selection.get("mode") == "ids":
        return "chosen by --ids"
    return f"all {selection.get('of', '')}".strip()


def _header(name: str, baseline: bool) -> str:
    return f"{name} (baseline)" if baseline else name


def _prompt_line(prompts: dict[str, str]) -> str:
    return ", ".join(f"{stage}={prompt}" for stage, prompt in prompts.items())
