"""``digest-pipeline eval`` with scripted fake providers: shared cache, metrics, marks, diffs, CLI."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from support.paths import REPO, SEED

from pipeline.app import RunOptions
from pipeline.errors import ConfigError
from pipeline.eval import EvalOptions, execute_eval
from pipeline.eval.compare import mark
from pipeline.eval.execute import choose_papers
from pipeline.eval.render import eval_table, format_value
from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import template_responder
from pipeline.stages.registry import stage_names
from pipeline.parse import parse_digest
from support.cli import run_cli
from support.eval_config import variant_of, write_config

CJK = re.compile(r"[\u3400-\u9fff]")
IDS = ["2601.16272", "2601.16302", "2601.16411"]


def _responder(request: LLMRequest) -> str:
    """The template stand-in, except that the ECHO translate prompt echoes the Chinese source
    (a small model's classic failure) and the SHORT summary prompt words its answer differently."""
    text = request.prompt + "".join(m.content for m in request.messages)
    if "VARIANT-ECHO" in text:
        return str(request.variables["source"])
    if "VARIANT-SHORT" in text:  # the reworded text, in the prompt's JSON object when it asks for one
        reworded = "In short: " + template_responder(replace(request, output_key=None))
        return json.dumps({request.output_key: reworded}) if request.output_key else reworded
    return template_responder(request)


VARIANTS = {
    "A": {"description": "as configured", "set": []},
    "B": {"description": "other summary wording", "set": {"stages.resummarize.prompt": "resummarize-short"}},
    "C": {"description": "echoing translations, no re-ask",
          "set": ["stages.translate.prompt=translate-echo", "validation.max_repairs=0"]},
    # another model (the cache key holds provider name and model) on a slow endpoint
    "S": {"description": "same prompts, slow model",
          "set": ["provider=fake-slow", *(f"stages.{s}.model=slow-model" for s in stage_names())]},
}


@pytest.fixture
def config(tmp_path: Path, fake_provider) -> Path:
    fake_provider(_responder, name="fake-eval")
    fake_provider(_responder, name="fake-slow")
    return write_config(tmp_path, provider="fake-eval", per_field=True,
                        providers={"fake-eval": {}, "fake-slow": {"latency": 0.02}},
                        variants=VARIANTS,
                        prompts={"resummarize-short": variant_of("resummarize-chat", "resummarize-short",
                                                                 "VARIANT-SHORT"),
                                 "translate-echo": variant_of("translate-chat", "translate-echo", "VARIANT-ECHO")})


def _eval(config: Path, *variants: str, **kwargs):
    options = EvalOptions(run=RunOptions(config=config), variants=list(variants), ids=kwargs.pop("ids", IDS),
                          name=kwargs.pop("name", "t"), **kwargs)
    return execute_eval(SEED, options, env={})


def test_variants_share_the_cache_unchanged_stages_are_hits(config: Path) -> None:
    result = _eval(config, "A", "B")
    a, b = result.events("A"), result.events("B")
    translate_calls = a.count("executed", "translate")
    assert translate_calls > len(IDS) and a.count("cache_hit") == 0
    # B changes only the resummarize prompt: every translate call is served from A's cache entries
    assert b.count("executed", "translate") == 0
    assert b.count("cache_hit", "translate") == translate_calls
    assert b.count("executed", "resummarize") == len(IDS) and b.count("cache_hit", "resummarize") == 0
    calls, executed, hits = (result.report.row(k).values for k in ("calls", "executed", "cache_hits"))
    assert executed["B"] == len(IDS) and hits["B"] == translate_calls
    assert calls["B"] == calls["A"] == a.count("executed")


def test_tokens_and_calls_do_not_depend_on_what_the_cache_held(config: Path) -> None:
    cold = _eval(config, "A", "B").report
    warm = _eval(config, "A", "B", name="t2").report  # everything is cached now
    assert warm.row("executed").values == {"A": 0, "B": 0}
    for key in ("calls", "prompt_tokens", "completion_tokens"):
        assert warm.row(key).values == cold.row(key).values
    assert cold.row("prompt_tokens").values["B"] > 0


def test_outputs_and_reports_are_written_per_variant(config: Path, tmp_path: Path) -> None:
    result = _eval(config, "A", "B", name="nightly-check")
    root = tmp_path / "out" / "eval" / "nightly-check"
    assert result.out_dir == root
    for variant in ("A", "B"):
        papers = sorted(p.stem for p in (root / variant / "seed-digest" / "papers").glob("*.json"))
        assert papers == sorted(IDS)
        run = json.loads((root / variant / "seed-digest" / "run.json").read_text(encoding="utf-8"))
        assert run["papers"] == len(IDS)
    doc = json.loads((root / "B" / "seed-digest" / "papers" / "2601.16302.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["stages"]["resummarize"]["prompt"] == "resummarize-short"
    report = json.loads((root / "report.json").read_text(encoding="utf-8"))
    assert report["baseline"] == "A" and [v["name"] for v in report["variants"]] == ["A", "B"]
    assert report["papers"] == IDS and report["selection"] == {"mode": "ids", "ids": IDS}
    assert (root / "report.md").read_text(encoding="utf-8").startswith("# Eval nightly-check")


def test_best_and_regressions_are_marked_against_the_baseline(config: Path) -> None:
    report = _eval(config, "A", "B", "C").report
    ok, failed, rate = report.row("ok"), report.row("failed"), report.row("pass_rate")
    assert ok.values == {"A": 3, "B": 3, "C": 0}
    assert ok.best == ["A", "B"] and ok.regressions == ["C"]
    assert failed.values["C"] == 3 and failed.best == ["A", "B"] and failed.regressions == ["C"]
    assert rate.values == {"A": 100.0, "B": 100.0, "C": 0.0}
    cjk = report.row("check:residual_cjk")
    assert cjk.values["A"] == 0 and cjk.values["C"] > 0 and cjk.regressions == ["C"]
    assert report.row("papers").best == [] and report.row("papers").regressions == []  # informational
    cost = report.row("cost")
    assert cost.values == {"A": None, "B": None, "C": None} and cost.best == [] and cost.regressions == []
    assert format_value(cost, None) == "unknown"
    assert any(n.startswith("cost: unknown (no price in prices: for ") and "fake-model" in n for n in report.notes)
    md = (report_path := Path(report.variants[0].out_dir).parents[1] / "report.md").read_text(encoding="utf-8")
    assert "| ok | 3 ★ | 3 ★ | 0 ▼ |" in md
    assert "| failed | 0 ★ | 0 ★ | 3 ▼ |" in md
    assert "| cost | unknown | unknown | unknown |" in md
    assert "| A (baseline) | B | C |" in md and report_path.is_file()


def test_latency_is_per_paper_model_time_and_a_slower_variant_regresses(config: Path) -> None:
    result = _eval(config, "A", "S")
    seconds = {v.name: v.metrics.paper_seconds for v in result.report.variants}
    assert set(seconds["S"]) == set(IDS)
    calls_per_paper = {pid: sum(1 for e in result.events("S").events if e.kind == "executed" and e.paper_id == pid)
                       for pid in IDS}
    for pid in IDS:  # each of the paper's calls slept 20 ms
        assert seconds["S"][pid] >= 0.02 * calls_per_paper[pid]
    latency = result.report.row("median_latency")
    assert latency.values["S"] > latency.values["A"]
    assert latency.best == ["A"] and latency.regressions == ["S"]
    # cache hits count at the time the call took when it was made
    again = _eval(config, "S", "A", name="again")
    assert again.events("S").count("executed") == 0
    assert again.report.row("median_latency").values["S"] == pytest.approx(latency.values["S"], rel=1e-6)


def test_mark_rules() -> None:
    assert mark({"a": 1, "b": 1}, "higher", "a") == ([], [])                 # all equal: nothing best
    assert mark({"a": 1, "b": 2, "c": None}, "lower", "a") == (["a"], ["b"])
    assert mark({"a": 0.100, "b": 0.105}, "lower", "a", rel_tol=0.10) == (["a"], [])  # within tolerance
    assert mark({"a": None, "b": 2}, "lower", "a") == ([], [])
    assert mark({"a": 1, "b": 2}, None, "a") == ([], [])


def test_sample_is_seeded_and_in_input_order(config: Path) -> None:
    digest = parse_digest(SEED)
    order = [p.arxiv_id for p in digest.papers]
    first = choose_papers(digest, 5, None, 0)
    assert first == choose_papers(digest, 5, None, 0) and len(first) == 5
    assert first == sorted(first, key=order.index)
    assert choose_papers(digest, 5, None, 1) != first
    assert choose_papers(digest, 10_000, None, 0) == order
    assert choose_papers(digest, None, ["2601.16411", "2601.16272"], 0) == ["2601.16272", "2601.16411"]
    result = _eval(config, "A", "B", ids=None, sample=4, seed=3)
    assert result.report.papers == choose_papers(digest, 4, None, 3)
    assert result.report.selection == {"mode": "sample", "sample": 4, "seed": 3, "of": len(order)}


def test_diffs_show_each_differing_field(config: Path) -> None:
    report = _eval(config, "A", "B", "C", show_diff=True).report
    b_fields = {d.field for d in report.diffs if d.variant == "B"}
    assert b_fields == {"summary.tldr"}  # B changed only the summary prompt
    diff = next(d for d in report.diffs if d.variant == "C" and d.paper_id == "2601.16302"
                and d.field == "translation.method")
    assert not CJK.search(diff.baseline_text) and CJK.search(diff.variant_text)  # C echoed the source
    assert diff.variant_text.startswith("[rejected] ")  # which failed its checks: the field is null
    lines = diff.diff.splitlines()
    assert lines[:2] == ["--- A/translation.method", "+++ C/translation.method"]
    assert "-It refers to FeTTL." in lines                    # one sentence a line
    assert [l for l in lines if l.startswith("+") and not l.startswith("+++")] == [f"+{diff.variant_text}"]
    assert {d.field for d in report.diffs if d.variant == "C" and d.paper_id == "2601.16302"} == {
        f"translation.{f}" for f in ("tldr", "motivation", "method", "result", "conclusion")}
    differing = {v.name: v.metrics.differing_papers for v in report.variants}
    assert differing["A"] == [] and sorted(differing["B"]) == sorted(IDS)
    assert report.row("differing").values == {"A": 0, "B": 3, "C": 3}


def test_cli_eval_prints_the_table_and_diffs_and_exits_0_despite_regressions(config: Path, tmp_path: Path) -> None:
    result = run_cli("eval", str(SEED), "--config", str(config), "--variant", "A", "--variant", "C",
                                 "--ids", ",".join(IDS[:2]), "--name", "cli", "--show-diff",
                           env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "eval cli: 2 papers of seed-digest.md" in out
    assert re.search(r"│ ok\s+│\s+2 ★ │\s+0 ▼ │", out)
    assert re.search(r"│ failed check: residual_cjk\s+│\s+0 ★ │\s+\d+ ▼ │", out)
    assert re.search(r"│ cost\s+│\s+unknown │\s+unknown │", out)
    assert "── 2601.16302 · translation.tldr · C vs baseline" in out
    assert "+++ C/translation.tldr" in out
    assert "variant A: 2 papers" in result.stderr
    assert (tmp_path / "out" / "eval" / "cli" / "report.md").is_file()


def test_cli_eval_adhoc_variant_and_json(config: Path) -> None:
    result = run_cli("eval", str(SEED), "--config", str(config), "--variant", "base",
                                 "--variant", "short=stages.resummarize.prompt=resummarize-short",
                                 "--sample", "2", "--name", "adhoc", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [v["name"] for v in report["variants"]] == ["base", "short"]
    assert report["variants"][1]["origin"] == "command line"
    assert report["variants"][1]["overrides"] == ["stages.resummarize.prompt=resummarize-short"]
    assert report["variants"][1]["prompts"]["resummarize"].startswith("resummarize-short@")
    assert len(report["papers"]) == 2


def test_cli_eval_without_variants_runs_every_config_variant(config: Path, tmp_path: Path) -> None:
    result = run_cli("eval", str(SEED), "--config", str(config), "--ids", IDS[0], "--name", "all",
                                 "--json")
    assert result.exit_code == 0, result.output
    assert [v["name"] for v in json.loads(result.stdout)["variants"]] == ["A", "B", "C", "S"]


@pytest.mark.parametrize("args, message", [
    (["--variant", "A", "--variant", "nope"], "no variant 'nope'"),
    (["--variant", "A"], "at least two variants"),
    (["--variant", "A", "--variant", "bad=run.concurrency=0"], "variant 'bad': run.concurrency"),
    (["--sample", "2", "--ids", IDS[0]], "--sample and --ids"),
    (["--ids", "2601.99999"], "2601.99999"),
    (["--name", "../up"], "--name"),
])
def test_cli_eval_bad_input_is_exit_2_before_any_output(config: Path, tmp_path: Path, args: list[str],
                                                        message: str) -> None:
    result = run_cli("eval", str(SEED), "--config", str(config), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_eval_checks_options_before_loading(config: Path) -> None:
    with pytest.raises(ConfigError, match="--sample must be at least 1"):
        execute_eval(SEED, EvalOptions(run=RunOptions(config=config), sample=0), env={})


def test_table_renders_markers(config: Path) -> None:
    report = _eval(config, "A", "C").report
    from rich.console import Console

    console = Console(width=160, record=True, color_system=None)
    console.print(eval_table(report))
    text = console.export_text()
    assert "(baseline)" in text.splitlines()[3]  # the header's second line, under A
    assert re.search(r"│ pass rate \(ok \+ repaired\)\s+│\s+100\.0% ★ │\s+0\.0% ▼ │", text)
    assert re.search(r"│ papers\s+│\s+3 │\s+3 │", text)  # informational rows carry no marks


def test_an_eval_name_in_use_is_refused_before_any_call(config: Path) -> None:
    _eval(config, "A", "B")
    with pytest.raises(ConfigError, match="already exists"):
        _eval(config, "A", "B", ids=["2601.16428"])


def test_a_variant_with_an_unknown_local_model_stops_the_eval_before_any_call(repo: Path, tmp_path: Path) -> None:
    from pipeline.errors import ModelNotAvailableError

    run = RunOptions(config=repo / "config.yaml", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    options = EvalOptions(run=run, variants=[
        "base", "x=stages.translate.model=nosuchmodel"], ids=IDS, name="unknown-model")
    with pytest.raises(ModelNotAvailableError, match="nosuchmodel"):
        execute_eval(SEED, options, env={})
    assert not (tmp_path / "out" / "eval" / "unknown-model" / "base").exists()


@pytest.mark.parametrize("name", ["report.md", "report.json"])
def test_report_file_names_are_not_variant_names(config: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        _eval(config, "A", f"{name}=validation.max_repairs=0")


def test_a_variant_that_skipped_papers_is_not_starred_for_spending_less(config: Path) -> None:
    # first, so that its calls are not cache hits (a hit costs nothing against the budget)
    result = _eval(config, "tight=budget.max_tokens=1;run.concurrency=1", "A", name="skips")
    report = result.report
    assert report.row("skipped").values["tight"] > 0 and report.row("skipped").values["A"] == 0
    assert report.row("skipped").best == ["A"]  # tight is the baseline here
    for key in ("calls", "prompt_tokens", "completion_tokens", "median_latency"):
        assert report.row(key).best == [] and report.row(key).regressions == [], key
    assert any(n.startswith("papers skipped (budget reached): 2 tight, 0 A;") for n in report.notes)


def test_validate_finds_every_output_folder_of_an_eval(config: Path, tmp_path: Path) -> None:
    result = _eval(config, "A", "B", name="nested")
    checked = run_cli("validate", result.out_dir, "--json")
    assert checked.exit_code in (0, 1), checked.output
    assert json.loads(checked.stdout)["papers"] == 2 * len(IDS)


def test_more_repaired_papers_are_not_marked_a_regression() -> None:
    """Found by a fresh user: a variant that turned a failed paper into a repaired one showed
    ``repaired 0 ★ | 1 ▼``; more repaired papers may mean fewer ok or fewer failed."""
    from pipeline.eval.compare import VariantMetrics, metric_defs

    def metrics(status: dict[str, int]) -> VariantMetrics:
        return VariantMetrics(papers=2, status=status, failures_per_check={}, calls=4, executed=4, cache_hits=0,
                              prompt_tokens=10, completion_tokens=5, paper_seconds={}, median_latency=None,
                              wall_seconds=1.0)

    rows = {d.key: d for d in metric_defs({"base": metrics({"ok": 1, "failed": 1}),
                                           "fill": metrics({"ok": 1, "repaired": 1})})}
    values = {"base": 0, "fill": 1}
    assert mark(values, rows["repaired"].better, "base") == ([], [])
    assert mark({"base": 1, "fill": 0}, rows["failed"].better, "base") == (["fill"], [])
