"""``digest-pipeline eval``: run prompt/model variants on the same papers and compare them.

- :mod:`pipeline.eval.variants` — the ``--variant`` syntax and which variants an eval runs;
- :mod:`pipeline.eval.execute` — run every variant through :func:`pipeline.runner.run_digest`
  with one shared cache and write ``report.json`` / ``report.md``;
- :mod:`pipeline.eval.compare` — per-variant metrics, best value per row, regressions against
  the baseline (the first variant), per-field output diffs;
- :mod:`pipeline.eval.render` — the side-by-side table, the Markdown report, the diff view.
"""

from pipeline.eval.compare import EvalReport, MetricRow
from pipeline.eval.execute import EvalOptions, EvalResult, execute_eval

__all__ = ["EvalOptions", "EvalReport", "EvalResult", "MetricRow", "execute_eval"]
