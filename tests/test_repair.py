"""Re-ask repair and generation from the abstract, through the real stage code with a scripted fake.

Each test runs :func:`pipeline.runner.run_digest` with a :class:`FakeProvider` whose responder
plays a model's failure (Chinese echoed back, an invented figure...), then asserts on the written
documents, the requests the provider received (tagged with stage / paper / field) and the run
summary. The config is a temp copy naming only the fake provider, with the repo's prompts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from support.paths import SEED, shared

from support.eval_config import write_config

from pipeline.cache import MemoryCacheStore
from pipeline.config import load_config
from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import FakeProvider, template_responder
from pipeline.llm.retry import RetryPolicy
from pipeline.models import Digest, Paper, PaperDocument
from pipeline.parse import parse_digest
from pipeline.runner import RunResult, run_digest
from pipeline.validate import check_generated, check_translation
from pipeline.validate.document import revalidate

PAPER = "2601.16302"  # FeTTL; its Chinese result holds "p值<0.002"


def _config(tmp_path: Path, max_repairs: int = 1):
    return load_config(write_config(tmp_path, extra={"validation": {"max_repairs": max_repairs}}, per_field=True))


def _run(tmp_path: Path, digest: Digest, responder: Callable[[LLMRequest], str], *,
         ids: list[str] | None = None, max_repairs: int = 1) -> tuple[RunResult, FakeProvider]:
    provider = FakeProvider(responder=responder)
    result = run_digest(digest, _config(tmp_path, max_repairs), provider, MemoryCacheStore(),
                        out_root=tmp_path / "out", ids=ids, retry=RetryPolicy(max_attempts=1))
    return result, provider


def _doc(result: RunResult, arxiv_id: str) -> PaperDocument:
    return next(d for d in result.documents if d.arxiv_id == arxiv_id)


def _written(result: RunResult, arxiv_id: str) -> dict:
    return json.loads((result.out_dir / "papers" / f"{arxiv_id}.json").read_text(encoding="utf-8"))


def _requests(provider: FakeProvider, stage: str, paper: str = PAPER) -> Counter[str]:
    """Requests received per field tag for ``stage`` and ``paper``."""
    return Counter(r.tags["field"] for r in provider.requests
                   if r.tags.get("stage") == stage and r.tags.get("paper") == paper)


def _text(request: LLMRequest) -> str:
    return request.prompt + "\n".join(m.content for m in request.messages)


def _is_reask(request: LLMRequest) -> bool:
    return bool(request.variables.get("previous"))


# --------------------------------------------------------------------------- translation re-ask

def _echo_method_once(request: LLMRequest) -> str:
    """The first answer for PAPER's method is the Chinese source echoed; the re-ask is fine."""
    tags = request.tags
    if tags.get("paper") == PAPER and tags.get("field") == "method" and not _is_reask(request):
        return str(request.variables["source"])
    return template_responder(request)


def test_field_fixed_by_reask_is_repaired_and_only_that_field_is_reasked(tmp_path: Path) -> None:
    result, provider = _run(tmp_path, parse_digest(SEED), _echo_method_once, ids=["2601.16272", PAPER])
    doc = _doc(result, PAPER)
    assert doc.validation.status == "repaired"
    assert doc.validation.attempts["translation.method"] == 2
    assert not [i for i in doc.validation.issues if i.severity == "error"]
    assert "FeTTL" in (doc.translation.method or "")
    # only the failing field was asked twice
    assert _requests(provider, "translate") == Counter(tldr=1, motivation=1, method=2, result=1, conclusion=1)
    assert _requests(provider, "resummarize") == Counter(summary=1)
    # the re-ask carries the failed output and the names of the failing checks
    reask = [r for r in provider.requests if r.tags["paper"] == PAPER and r.tags["field"] == "method"][1]
    source = doc.source["method"].text or ""
    assert source in reask.variables["previous"]
    prompt = _text(reask)
    assert prompt.count(source) == 2  # once as the text to translate, once as the failed (echoed) answer
    for check in ("residual_cjk", "unchanged", "language"):
        assert check in reask.variables["problems"] and check in prompt
    # what repair had to fix is counted on the first attempt only
    assert doc.validation.first_attempt_failures["residual_cjk"] == 1
    assert result.summary.failures_per_check_first_attempt["residual_cjk"] == 1
    assert result.summary.failures_per_check == {}
    assert result.summary.status_counts == {"ok": 1, "repaired": 1, "failed": 0}
    assert result.events.count("repaired", "translate") == 1
    other = _doc(result, "2601.16272")
    assert other.validation.status == "ok" and other.validation.first_attempt_failures == {}
    run_json = json.loads((result.out_dir / "run.json").read_text(encoding="utf-8"))
    assert run_json["failures_per_check_first_attempt"]["residual_cjk"] == 1
    assert run_json["failures_per_check"] == {}


def _echo_method_always(request: LLMRequest) -> str:
    tags = request.tags
    if tags.get("paper") == PAPER and tags.get("field") == "method":
        return str(request.variables["source"])
    return template_responder(request)


@pytest.mark.parametrize("max_repairs", [1, 2])
def test_still_failing_after_reasks_is_failed_with_every_remaining_issue(tmp_path: Path, max_repairs: int) -> None:
    result, provider = _run(tmp_path, parse_digest(SEED), _echo_method_always, ids=[PAPER], max_repairs=max_repairs)
    doc = _doc(result, PAPER)
    assert doc.validation.status == "failed"
    assert doc.validation.attempts["translation.method"] == 1 + max_repairs
    assert _requests(provider, "translate")["method"] == 1 + max_repairs
    source = doc.source["method"].text
    assert doc.translation.method is None  # no honest English: null, the best attempt kept for inspection
    assert doc.validation.rejected["translation.method"] == source
    remaining = [i for i in doc.validation.issues if i.field == "translation.method"]
    assert remaining == check_translation("method", source, source, abstract=doc.abstract, title=doc.title)
    assert {"residual_cjk", "unchanged", "language"} <= {i.check for i in remaining if i.severity == "error"}
    assert result.summary.status_counts["failed"] == 1
    assert result.summary.failures_per_check["residual_cjk"] == 1
    assert _written(result, PAPER)["validation"] == doc.validation.model_dump(mode="json")


def _invented_summary_once(request: LLMRequest) -> str:
    if request.tags.get("stage") == "resummarize" and request.tags.get("paper") == PAPER:
        if request.temperature == 0.0:  # the first, greedy answer
            return "FeTTL aligns medical imaging data across 12 institutions and wins by 37%."
    return template_responder(request)


def test_summary_with_invented_numbers_is_reasked(tmp_path: Path) -> None:
    result, provider = _run(tmp_path, parse_digest(SEED), _invented_summary_once, ids=[PAPER])
    doc = _doc(result, PAPER)
    assert doc.validation.status == "repaired"
    assert doc.validation.attempts["summary.tldr"] == 2
    assert _requests(provider, "resummarize") == Counter(summary=2)
    assert doc.validation.first_attempt_failures == {"invented_numbers": 2}
    assert "37%" not in (doc.summary.tldr or "")


# --------------------------------------------------------------------------- generated fields

def test_failed_source_fields_are_generated_from_the_abstract(tmp_path: Path) -> None:
    result, provider = _run(tmp_path, parse_digest(shared("synthetic", "01-all-placeholder-fallbacks.jsonl")), template_responder)
    assert result.summary.status_counts == {"ok": 0, "repaired": 4, "failed": 0}
    doc = _doc(result, "2501.90001")  # every field "... failed" / "... unavailable"
    for name in ("tldr", "motivation", "method", "result", "conclusion"):
        text = getattr(doc.translation, name)
        assert text and check_generated(name, text, doc.abstract) == []
        assert doc.provenance.stages["generate"].notes[name] == "generated from the abstract: source source_failed"
        warning = [i for i in doc.validation.issues if i.field == f"translation.{name}"]
        assert [(i.check, i.severity) for i in warning] == [("source_failed", "warning")]
        assert "written from the abstract" in warning[0].message
    assert doc.provenance.stages["generate"].prompt == "generate-chat"
    assert doc.provenance.stages["generate"].usage.calls == 5
    assert "translate" in doc.provenance.stages and doc.provenance.stages["translate"].usage.calls == 0
    assert _requests(provider, "generate", "2501.90001") == Counter(tldr=1, motivation=1, method=1, result=1,
                                                                   conclusion=1)
    gen = next(r for r in provider.requests if r.tags["stage"] == "generate" and r.tags["paper"] == "2501.90001")
    assert doc.abstract in _text(gen) and gen.variables["previous"] == ""
    # partial fallbacks: real fields are translated, failed ones generated
    partial = _doc(result, "2501.90004")
    assert set(partial.provenance.stages["generate"].notes) == {"motivation", "result", "conclusion"}
    assert _requests(provider, "translate", "2501.90004") == Counter(tldr=1, method=1)
    assert _requests(provider, "generate", "2501.90004") == Counter(motivation=1, result=1, conclusion=1)
    assert "41%" in (partial.translation.tldr or "")
    assert revalidate(partial) == partial.validation


def _missing_fields_paper() -> Digest:
    paper = Paper(arxiv_id="2601.00001", url="https://arxiv.org/abs/2601.00001", title="Sparse Adapters",
                  authors=["A. Author"], category="cs.CL",
                  fields={"tldr": "提出SparseAdapter方法，在GLUE上提升2.1个百分点。", "motivation": None,
                          "method": "", "result": "本研究では、SparseAdapterがGLUEで2.1ポイント向上することを示した。",
                          "conclusion": "본 연구는 SparseAdapter가 효율적인 미세 조정 방법임을 보여준다."},
                  abstract="We propose SparseAdapter, a parameter-efficient fine-tuning method. "
                           "It improves GLUE by 2.1 points while training 0.5% of the weights.")
    return Digest(path="missing-fields.md", papers=[paper])


def test_missing_fields_are_generated_and_japanese_korean_are_translated(tmp_path: Path) -> None:
    result, provider = _run(tmp_path, _missing_fields_paper(), template_responder)
    doc = result.documents[0]
    assert doc.source["motivation"].status == "missing" and doc.source["method"].status == "missing"
    assert doc.source["result"].language == "ja" and doc.source["conclusion"].language == "ko"
    notes = doc.provenance.stages["generate"].notes
    assert notes == {"motivation": "generated from the abstract: source missing",
                     "method": "generated from the abstract: source missing"}
    assert _requests(provider, "translate", "2601.00001") == Counter(tldr=1, result=1, conclusion=1)
    assert {(i.field, i.check) for i in doc.validation.issues if i.severity == "warning"} >= {
        ("translation.motivation", "source_missing"), ("translation.method", "source_missing")}
    assert all(getattr(doc.translation, n) for n in ("tldr", "motivation", "method", "result", "conclusion"))
    assert doc.validation.status == "repaired"


def _invent_in_result(request: LLMRequest) -> str:
    if request.tags.get("stage") == "generate" and request.tags.get("field") == "result":
        return "SparseAdapter improves GLUE by 7.3 points over full fine-tuning."
    return template_responder(request)


def test_generated_field_still_failing_stays_none_with_its_errors(tmp_path: Path) -> None:
    digest = _missing_fields_paper()
    digest.papers[0].fields["result"] = "Result analysis unavailable"
    digest.papers[0].source_problems["result"] = "failure placeholder: Result analysis unavailable"
    result, provider = _run(tmp_path, digest, _invent_in_result)
    doc = result.documents[0]
    assert doc.translation.result is None
    assert doc.validation.status == "failed"
    assert doc.validation.attempts["translation.result"] == 2
    issues = [(i.check, i.severity) for i in doc.validation.issues if i.field == "translation.result"]
    assert issues == [("source_failed", "warning"), ("invented_numbers", "error")]
    assert "rejected" in doc.provenance.stages["generate"].notes["result"]
    reask = [r for r in provider.requests if r.tags["stage"] == "generate" and r.tags["field"] == "result"][1]
    assert "7.3" in reask.variables["previous"] and "invented_numbers" in _text(reask)
    assert "Previous answer:" in _text(reask)
    written = _written(result, "2601.00001")
    assert written["translation"]["result"] is None
    # the verdict on the rejected text survives a later re-validation (the text is not in the document)
    assert revalidate(doc) == doc.validation


# --------------------------------------------------------------------------- re-ask with the evidence

INVENTED = ("FeTTL was superior in the Federal Open Courseware (FOC) environment, in the video-based "
            "surgery task at Shanghai hospitals.")


def _invented_result_once(request: LLMRequest) -> str:
    """The first answer for PAPER's result names an invented environment and domain; the re-ask is fine."""
    tags = request.tags
    if tags.get("paper") == PAPER and tags.get("field") == "result" and not _is_reask(request):
        return INVENTED
    return template_responder(request)


def test_a_field_failing_a_content_check_is_reasked_with_the_words_and_the_abstract_sentences(tmp_path: Path) -> None:
    result, provider = _run(tmp_path, parse_digest(SEED), _invented_result_once, ids=[PAPER])
    doc = _doc(result, PAPER)
    first = [i for i in check_translation("result", INVENTED, doc.source["result"].text, abstract=doc.abstract,
                                          title=doc.title) if i.severity == "error"]
    assert {"invented_term", "unsupported_claim"} <= {i.check for i in first}
    reask = next(r for r in provider.requests if r.tags.get("paper") == PAPER and r.tags.get("field") == "result"
                 and _is_reask(r))
    problems = str(reask.variables["problems"])
    assert '"FOC"' in problems and "surgery" in problems  # the offending words, quoted
    said = [line.split('what the abstract says there: "', 1)[1] for line in problems.splitlines()
            if "what the abstract says there" in line]
    abstract = " ".join(doc.abstract.split())
    assert said and all(" ".join(s.split())[:60] in abstract for s in said), (said, abstract)
    assert doc.validation.status == "repaired" and "FOC" not in (doc.translation.result or "")


# --------------------------------------------------------------------------- a failed field written from the abstract

def _echo_method_always_but_generate(request: LLMRequest) -> str:
    """PAPER's method translation is always the Chinese source echoed; everything else is fine."""
    if request.tags.get("stage") == "translate":
        return _echo_method_always(request)
    return template_responder(request)


@pytest.mark.parametrize("fill", [False, True])
def test_a_field_still_failing_is_written_from_the_abstract_only_when_asked(tmp_path: Path, fill: bool) -> None:
    config = load_config(write_config(tmp_path, per_field=True, extra={
        "validation": {"max_repairs": 1, "fill_failed_from_abstract": fill}}))
    provider = FakeProvider(responder=_echo_method_always_but_generate)
    result = run_digest(parse_digest(SEED), config, provider, MemoryCacheStore(), out_root=tmp_path / "out",
                        ids=[PAPER], retry=RetryPolicy(max_attempts=1))
    doc = _doc(result, PAPER)
    source = doc.source["method"].text
    assert doc.validation.rejected["translation.method"] == source  # the failed translation, kept either way
    generate_calls = _requests(provider, "generate")["method"]
    if not fill:
        assert doc.translation.method is None and generate_calls == 0
        assert doc.validation.status == "failed" and doc.provenance.origins["translation.method"] == "translated"
        return
    assert generate_calls == 1
    assert doc.provenance.origins["translation.method"] == "generated"
    assert doc.translation.method and doc.translation.method.split(".")[0] in doc.abstract  # from the abstract
    assert "translation failed validation" in doc.provenance.stages["generate"].notes["method"]
    assert not [i for i in doc.validation.issues if i.severity == "error"]  # generated text checked, passes
    assert doc.validation.status == "repaired"
    assert revalidate(doc) == doc.validation  # validate agrees
