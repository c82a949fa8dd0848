"""A request that does not fit the model's context window, and a provider that stops mid-run.

Found on the sample with the embedded models: a looping answer ("1, 2, 3, ... 52") failed
``invented_figure`` 52 times, its re-ask quoted 52 problem lines with their abstract evidence
(5,200 tokens for a 2,048-token Gemma), and the context overflow stopped the whole run at paper
65 of 129 with no ``run.json``. Now a re-ask lists one line per check, quotes each abstract
sentence once, a re-ask that still does not fit ends that field's re-asks, a first answer that
does not fit fails only its paper, and a run stopped mid-run by a permanent provider error still writes
aggregates that account for every paper (one stopped before any paper finished writes none).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.eval_config import write_config
from support.paths import SEED

from pipeline.cache import MemoryCacheStore
from pipeline.config import load_config
from pipeline.errors import ProviderError, RequestTooLargeError
from pipeline.events import EventLog
from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import FakeProvider, template_responder
from pipeline.llm.retry import RetryPolicy
from pipeline.models import ValidationIssue
from pipeline.parse import parse_digest
from pipeline.runner import run_digest
from pipeline.stages.field import MAX_PROBLEM_LINES, problem_lines

PAPER = "2601.16302"
OTHER = "2601.16272"
COUNTING = ", ".join(str(n) for n in range(1, 53))
"""A looping answer: 52 figures that are in neither the source nor the abstract."""


def _run(tmp_path: Path, responder, ids: list[str], **kwargs):
    loaded = load_config(write_config(tmp_path, extra={"validation": {"max_repairs": 1}}, per_field=True))
    provider = FakeProvider(responder=responder)
    events = EventLog()
    result = run_digest(parse_digest(SEED), loaded, provider, MemoryCacheStore(), out_root=tmp_path / "out",
                        ids=ids, retry=RetryPolicy(max_attempts=1), events=events, **kwargs)
    return result, provider, events


def _doc(result, arxiv_id: str):
    return next(d for d in result.documents if d.arxiv_id == arxiv_id)


def test_a_reask_lists_each_check_once_and_quotes_each_abstract_sentence_once() -> None:
    paper = next(p for p in parse_digest(SEED).papers if p.arxiv_id == PAPER)
    issues = [ValidationIssue(field="translation.result", check="invented_figure", severity="error",
                              message=f'figure "{n}" is in neither the source, the abstract nor the title')
              for n in range(1, 53)]
    issues += [ValidationIssue(field="translation.result", check=f"check_{n}", severity="error", message="bad")
               for n in range(MAX_PROBLEM_LINES)]
    lines = problem_lines(issues, text=COUNTING, source=paper.fields["result"], abstract=paper.abstract)
    assert len(lines) == MAX_PROBLEM_LINES + 1 and lines[-1] == "... and 1 more check(s) failed"
    assert lines[0].startswith('invented_figure: figure "1" is in neither')
    head = lines[0].split("; what the abstract says there")[0]
    assert head.count('"') == 2 * 9 and head.endswith('(also "2", "3", "4", "5", "6", "7", "8", "9" and 43 more)')
    quoted = [q for line in lines if "what the abstract says there" in line
              for q in line.split('what the abstract says there: "', 1)[1].rstrip('"').split(". ")]
    assert quoted and len(quoted) == len(set(quoted))
    assert sum(len(line) for line in lines) < 2000  # was 52 lines with evidence each: 22,000 characters


def _loops_then_too_large(request: LLMRequest) -> str:
    """PAPER's result loops on its first answer; its re-ask does not fit the model."""
    if request.tags.get("paper") == PAPER and request.tags.get("field") == "result" \
            and request.tags.get("stage") == "translate":
        if request.variables.get("previous"):
            raise RequestTooLargeError("fake", "prompt does not fit the context window (5200 > 2048 tokens)")
        return COUNTING
    return template_responder(request)


def test_a_reask_that_does_not_fit_keeps_the_best_answer_and_the_run_goes_on(tmp_path: Path) -> None:
    result, _, events = _run(tmp_path, _loops_then_too_large, [OTHER, PAPER])
    doc = _doc(result, PAPER)
    assert doc.validation.status == "failed" and doc.translation.result is None
    assert doc.validation.rejected["translation.result"] == COUNTING
    assert any(i.check == "invented_figure" and i.field == "translation.result" for i in doc.validation.issues)
    assert doc.translation.method  # the paper's other fields went on
    assert _doc(result, OTHER).validation.status == "ok"
    assert [e.paper_id for e in events.events if e.kind == "reask_too_large"] == [PAPER]
    assert json.loads((result.out_dir / "run.json").read_text(encoding="utf-8"))["papers"] == 2


def _too_large_for_paper(request: LLMRequest) -> str:
    if request.tags.get("paper") == PAPER:
        raise RequestTooLargeError("fake", "prompt does not fit the context window")
    return template_responder(request)


def test_a_first_answer_that_does_not_fit_fails_only_its_paper(tmp_path: Path) -> None:
    result, _, _ = _run(tmp_path, _too_large_for_paper, [PAPER, OTHER], concurrency=1)
    failed = _doc(result, PAPER)
    assert failed.validation.status == "failed"
    assert any("does not fit the context window" in i.message for i in failed.validation.issues)
    assert _doc(result, OTHER).validation.status == "ok"


def _bad_key_for_paper(request: LLMRequest) -> str:
    if request.tags.get("paper") == PAPER:
        raise ProviderError("fake", "401 unauthorized: check the API key", status_code=401)
    return template_responder(request)


def test_a_run_stopped_by_the_provider_still_accounts_for_every_paper(tmp_path: Path) -> None:
    ids = [OTHER, PAPER, "2601.16333"]
    with pytest.raises(ProviderError, match="401"):
        _run(tmp_path, _bad_key_for_paper, ids, concurrency=1)
    out = tmp_path / "out" / "seed-digest"
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    entries = {p["arxiv_id"]: p["validation"] for p in json.loads((out / "digest.json").read_text())["papers"]}
    assert entries[OTHER]["status"] == "ok"
    assert entries[PAPER]["status"] == "skipped" and entries[PAPER]["skip_reason"] == "stopped"
    assert set(entries) >= set(ids)  # every paper accounted for (those in flight finished)
    assert run["status_counts"]["skipped"] >= 1 and run["papers"] == len(ids)
