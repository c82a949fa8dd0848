"""``report.html``: one self-contained page to review a run (no CDN, inline CSS and JS, works
offline from the file).

Every paper of the digest, in input order: its Chinese source and English text field by field,
side by side, with the validation issues on the field they concern (errors and warnings styled
apart; issues about the whole paper above its fields), the English re-summary, and its status.
Filters by status and by check; a header with the run's counts, model calls, cache hits, tokens,
cost and wall time (from the run summary, ``run.json``).

Rendered by Jinja2 with autoescape on (``templates/report.html.j2``, package data): nothing from
the input reaches the page unescaped.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipeline.models import SUMMARY_FIELDS, Digest, PaperDocument, ValidationIssue
from pipeline.output.files import write_text_atomic

_ENV = Environment(loader=PackageLoader("pipeline.publish", "templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
SUMMARY_FIELD = "summary.tldr"  # the re-summary's issue field (pipeline.validate.checks)
LABELS = {"tldr": "TL;DR", "motivation": "Motivation", "method": "Method", "result": "Result",
          "conclusion": "Conclusion"}


def render_report(digest: Digest, documents: list[PaperDocument], summary: dict[str, Any]) -> str:
    """The report page (HTML text) for ``documents`` (one per paper, input order) of ``digest``
    and the run ``summary`` (``run.json``'s content; missing keys show as blanks)."""
    papers = [paper_view(index, document) for index, document in enumerate(documents, start=1)]
    statuses = Counter(p["status"] for p in papers)
    checks = Counter(check for p in papers for check in p["checks"])
    return _ENV.get_template("report.html.j2").render(
        digest=Path(digest.path).name, summary=summary, papers=papers, header=header_rows(summary),
        statuses=sorted(statuses.items(), key=lambda item: _STATUS_ORDER.get(item[0], 9)),
        checks=sorted(checks.items()))


_STATUS_ORDER = {"ok": 0, "repaired": 1, "failed": 2, "skipped": 3}


def paper_view(index: int, document: PaperDocument) -> dict[str, Any]:
    """What the template shows of one paper (plain data; the template escapes every text)."""
    issues = document.validation.issues
    field_paths = {f"translation.{name}" for name in SUMMARY_FIELDS} | {SUMMARY_FIELD}
    fields = []
    for name in SUMMARY_FIELDS:
        source = document.source.get(name)
        fields.append({"label": LABELS[name], "source": source.text if source else None,
                       "language": source.language if source else None,
                       "source_status": source.status if source else "missing",
                       "english": getattr(document.translation, name),
                       "rejected": document.validation.rejected.get(f"translation.{name}"),
                       "issues": _issues(issues, f"translation.{name}")})
    return {"index": index, "id": document.arxiv_id, "url": document.url, "title": document.title,
            "authors": ", ".join(document.authors), "category": document.category or "",
            "status": document.validation.status, "checks": sorted({i.check for i in issues}),
            "paper_issues": [_issue(i) for i in issues if i.field not in field_paths],
            "fields": fields, "resummary": document.summary.tldr,
            "resummary_rejected": document.validation.rejected.get(SUMMARY_FIELD),
            "resummary_issues": _issues(issues, SUMMARY_FIELD)}


def _issues(issues: list[ValidationIssue], path: str) -> list[dict[str, str]]:
    return [_issue(i) for i in issues if i.field == path]


def _issue(issue: ValidationIssue) -> dict[str, str]:
    return {"severity": issue.severity, "check": issue.check, "message": issue.message, "field": issue.field}


def header_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for the page header, from a run summary."""
    cost = summary.get("cost")
    tokens = (summary.get("prompt_tokens"), summary.get("completion_tokens"))
    return [
        ("papers", _value(summary.get("papers"))),
        ("in digest", _value(summary.get("papers_in_digest"))),
        ("model calls", _value(summary.get("model_calls"))),
        ("cache hits", _value(summary.get("cache_hits"))),
        ("retries", _value(summary.get("retries"))),
        ("tokens (prompt / completion)", " / ".join(_value(t) for t in tokens)),
        ("cost", f"${cost:.4f}" if isinstance(cost, (int, float)) else "unknown"),
        ("wall time", f"{summary['wall_seconds']:.1f} s" if isinstance(summary.get("wall_seconds"), (int, float))
         else ""),
        ("provider", _value(summary.get("provider"))),
        ("models", ", ".join(f"{k}: {v}" for k, v in (summary.get("models") or {}).items())),
        ("started", _value(summary.get("started_at"))),
        ("run id", _value(summary.get("run_id"))),
    ]


def _value(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def write_report(out_dir: Path, digest: Digest, documents: list[PaperDocument], summary: dict[str, Any]) -> Path:
    """Write ``out_dir/report.html`` (atomically); returns its path."""
    path = out_dir / "report.html"
    write_text_atomic(path, render_report(digest, documents, summary))
    return path
