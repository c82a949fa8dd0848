"""Usage and cost: prices, cost per stage / paper / run, cache savings, budgets, ``run --dry-run``.

Real runs through the CLI with the fake provider (its token counts: prompt characters / 4,
reply characters / 4), on a temp config carrying the repo's top-level sections.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import CONFIG, SEED
from support.cli import run_cli
from support.eval_config import write_config

from pipeline.config import ModelPrice
from pipeline.cost import add_costs, format_cost, usage_cost
from pipeline.llm.base import LLMRequest
from pipeline.models import PaperDocument, Usage

PRICE = ["--set", "prices.fake-model.prompt_per_1m=0.15", "--set", "prices.fake-model.completion_per_1m=0.6"]
LIMIT = ["--limit", "6"]


def _run(config: Path, *args: str):
    """``digest-pipeline run SEED --config CONFIG ARGS...``."""
    return run_cli("run", SEED, "--config", config, *args)


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, extra={"prices": {}})


def _out(tmp_path: Path) -> Path:
    return tmp_path / "out" / "seed-digest"


def test_cost_per_stage_paper_and_run_from_the_price_table(config: Path, tmp_path: Path) -> None:
    result = _run(config, *LIMIT, *PRICE)
    assert result.exit_code == 0, result.output
    run = _json(_out(tmp_path) / "run.json")
    stages = run["usage_per_stage"]
    assert set(stages) >= {"translate", "resummarize"}
    for row in stages.values():
        expected = (row["prompt_tokens"] * 0.15 + row["completion_tokens"] * 0.6) / 1e6
        assert row["cost"] == pytest.approx(expected) and row["cost"] > 0
    assert run["cost"] == pytest.approx(sum(r["cost"] for r in stages.values()))
    assert run["prompt_tokens"] == sum(r["prompt_tokens"] for r in stages.values())
    assert run["model_calls"] == sum(r["calls"] for r in stages.values())
    papers = [_json(p) for p in sorted((_out(tmp_path) / "papers").glob("*.json"))]
    assert len(papers) == 6
    assert sum(p["provenance"]["cost"] for p in papers) == pytest.approx(run["cost"])
    for paper in papers:
        prov = paper["provenance"]
        stage_costs = [s["cost"] for s in prov["stages"].values() if s["model"]]
        assert prov["cost"] == pytest.approx(sum(stage_costs))
        translate = prov["stages"]["translate"]
        assert translate["cost"] == pytest.approx(
            (translate["usage"]["prompt_tokens"] * 0.15 + translate["usage"]["completion_tokens"] * 0.6) / 1e6)
        PaperDocument.model_validate(paper)
    assert "cost" in result.stderr and "$" in result.stderr


def test_unknown_price_is_null_and_reported_unknown_never_zero(config: Path, tmp_path: Path) -> None:
    result = _run(config, *LIMIT)
    assert result.exit_code == 0, result.output
    run = _json(_out(tmp_path) / "run.json")
    assert run["cost"] is None and run["cost_saved_by_cache"] is None
    assert run["unpriced_models"] == ["fake-model"]
    assert all(row["cost"] is None for row in run["usage_per_stage"].values())
    paper = _json(next((_out(tmp_path) / "papers").glob("*.json")))
    assert paper["provenance"]["cost"] is None
    assert paper["provenance"]["stages"]["translate"]["cost"] is None
    assert "unknown (no price for fake-model)" in result.stderr


def test_warm_run_costs_nothing_and_reports_what_the_cache_saved(config: Path, tmp_path: Path) -> None:
    assert _run(config, *LIMIT, *PRICE).exit_code == 0
    cold = _json(_out(tmp_path) / "run.json")
    assert cold["tokens_saved_by_cache"] == {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
    assert cold["cost_saved_by_cache"] == 0
    warm_result = _run(config, *LIMIT, *PRICE)
    assert warm_result.exit_code == 0
    warm = _json(_out(tmp_path) / "run.json")
    assert warm["model_calls"] == 0 and warm["cost"] == 0
    assert warm["tokens_saved_by_cache"] == {"prompt_tokens": cold["prompt_tokens"],
                                             "completion_tokens": cold["completion_tokens"],
                                             "calls": cold["model_calls"]}
    assert warm["cost_saved_by_cache"] == pytest.approx(cold["cost"])
    for stage, row in warm["usage_per_stage"].items():
        assert row["cached_calls"] == cold["usage_per_stage"][stage]["calls"]
        assert row["cost_saved_by_cache"] == pytest.approx(cold["usage_per_stage"][stage]["cost"])
    paper = _json(next((_out(tmp_path) / "papers").glob("*.json")))
    assert paper["provenance"]["usage"]["calls"] == 0 and paper["provenance"]["cached_usage"]["calls"] > 0
    assert paper["provenance"]["cost"] == 0 and paper["provenance"]["cost_saved_by_cache"] > 0


def test_budget_max_tokens_skips_the_rest_and_exits_1(config: Path, tmp_path: Path) -> None:
    result = _run(config, "--limit", "8", "--concurrency", "1", "--set", "budget.max_tokens=4000", *PRICE)
    assert result.exit_code == 1, result.output
    run = _json(_out(tmp_path) / "run.json")
    skipped = run["status_counts"]["skipped"]
    assert 0 < skipped < 8 and run["status_counts"]["ok"] + skipped == 8
    assert run["budget"]["max_tokens"] == 4000 and run["budget"]["spent_tokens"] >= 4000
    assert run["budget"]["skipped"] == skipped and "max_tokens" in run["budget"]["reached"]
    digest = _json(_out(tmp_path) / "digest.json")
    statuses = [p["validation"]["status"] for p in digest["papers"]]
    assert statuses == sorted(statuses, key=lambda s: s == "skipped"), "the first papers run, the rest are skipped"
    doc = next(p for p in digest["papers"] if p["validation"]["status"] == "skipped")
    assert doc["validation"]["issues"][0]["check"] == "budget" and "max_tokens 4000" in doc["validation"]["issues"][0]["message"]
    assert doc["translation"]["tldr"] is None and doc["provenance"]["usage"]["calls"] == 0
    PaperDocument.model_validate(doc)
    assert "skipped" in result.stderr

    # `validate` keeps a skipped paper skipped; a run with a higher budget finishes the day.
    checked = run_cli("validate", str(_out(tmp_path)), "--json")
    assert json.loads(checked.stdout)["status_counts"]["after"].get("skipped") == skipped
    again = _run(config, "--limit", "8", "--concurrency", "1", "--set", "budget.max_tokens=1000000", *PRICE)
    assert again.exit_code == 0, again.output
    rerun = _json(_out(tmp_path) / "run.json")
    assert "skipped" not in rerun["status_counts"] and rerun["cache_hits"] > 0


def test_budget_max_cost_stops_and_needs_prices(config: Path, tmp_path: Path) -> None:
    no_price = _run(config, *LIMIT, "--set", "budget.max_cost=0.001")
    assert no_price.exit_code == 2 and "prices.fake-model" in no_price.stderr
    assert not (tmp_path / "out").exists()
    result = _run(config, "--limit", "8", "--concurrency", "1", "--set", "budget.max_cost=0.0008", *PRICE)
    assert result.exit_code == 1, result.output
    run = _json(_out(tmp_path) / "run.json")
    assert run["status_counts"]["skipped"] > 0 and run["budget"]["spent_cost"] >= 0.0008
    assert "max_cost" in run["budget"]["reached"]


def _refuse(request: LLMRequest) -> str:
    raise AssertionError(f"a dry run called the model: {request.tags}")


def test_dry_run_estimates_without_calling_a_model_or_writing(tmp_path: Path, fake_provider) -> None:
    fake_provider(_refuse, name="fake-refuse")
    config = write_config(tmp_path, provider="fake-refuse", extra={"prices": {}})
    result = _run(config, *LIMIT, *PRICE, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    estimate = json.loads(result.stdout)
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
    total = estimate["total"]
    assert estimate["papers"] == 6 and total["cached"] == 0 and total["calls"] > 6
    assert "max_tokens" in estimate["method"] and "ASCII characters / 4" in estimate["method"]
    assert total["cost"] == pytest.approx((total["prompt_tokens"] * 0.15 + total["completion_tokens"] * 0.6) / 1e6)

    # The same run for real (template replies pass validation): same calls, prompt tokens within
    # rounding, completion tokens below the max_tokens bound.
    real_config = write_config(tmp_path, extra={"prices": {}})
    assert _run(real_config, *LIMIT, *PRICE).exit_code == 0
    run = _json(_out(tmp_path) / "run.json")
    assert total["calls"] == run["model_calls"]
    assert run["prompt_tokens"] <= total["prompt_tokens"] <= run["prompt_tokens"] + total["calls"]
    assert run["completion_tokens"] < total["completion_tokens"]

    # Afterwards the cache holds every call: nothing left to pay for.
    warm = _run(real_config, *LIMIT, *PRICE, "--dry-run", "--json")
    estimate = json.loads(warm.stdout)
    assert estimate["total"]["calls"] == 0 and estimate["total"]["cached"] == run["model_calls"]
    assert estimate["total"]["cost"] == 0


def test_dry_run_table_says_unknown_without_prices(config: Path, tmp_path: Path) -> None:
    result = _run(config, *LIMIT, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "no model called, nothing written" in result.stdout
    assert "unknown" in result.stdout and "no price for fake-model" in result.stdout
    assert not (tmp_path / "out").exists()


def test_cost_helpers() -> None:
    price = ModelPrice(prompt_per_1m=1.0, completion_per_1m=2.0)
    assert usage_cost(Usage(prompt_tokens=1_000_000, completion_tokens=500_000), price) == 2.0
    assert usage_cost(Usage(prompt_tokens=10), None) is None
    assert add_costs([0.5, None]) is None and add_costs([]) is None and add_costs([0.25, 0.5]) == 0.75
    assert format_cost(None) == "unknown" and format_cost(0) == "$0" and format_cost(1.23456) == "$1.2346"
    assert format_cost(0.000123) == "$0.000123"


def test_dry_run_reports_a_bad_provider_setting_like_a_run(repo: Path) -> None:
    config = repo / "config.yaml"
    bad = ["--set", "providers.local.settings.bogus=1", *LIMIT]
    dry, real = _run(config, *bad, "--dry-run"), _run(config, *bad)
    assert dry.exit_code == real.exit_code == 2
    assert "unknown setting 'bogus'" in dry.stderr and dry.stderr == real.stderr


def test_dry_run_without_an_api_key_estimates_with_a_note(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = _run(repo / "config.yaml", "--provider", "openai", *LIMIT, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert any("OPENAI_API_KEY is not set" in n for n in json.loads(result.stdout)["notes"])


def _resummarize_down(request: LLMRequest) -> str:
    from pipeline.errors import ProviderError
    from pipeline.llm.fake import template_responder

    if request.tags.get("stage") == "resummarize":
        raise ProviderError("fake", "HTTP 500 from the server", status_code=500, retryable=True)
    return template_responder(request)


def test_calls_of_a_paper_that_failed_on_the_provider_are_still_counted(tmp_path: Path, fake_provider) -> None:
    fake_provider(_resummarize_down, name="fake-resummarize-down")
    config = write_config(tmp_path, provider="fake-resummarize-down")
    result = _run(config, "--limit", "3", *PRICE, "--set", "retry.max_attempts=1")
    assert result.exit_code == 1, result.output
    run = _json(_out(tmp_path) / "run.json")
    assert run["status_counts"]["failed"] == 3 and run["failures_per_check"] == {"provider": 3}
    translate = run["usage_per_stage"]["translate"]
    assert translate["calls"] == run["model_calls"] == 3  # one call for each paper's fields; no re-summary answered
    assert run["prompt_tokens"] + run["completion_tokens"] == run["budget"]["spent_tokens"] > 0
    assert run["cost"] == pytest.approx(run["budget"]["spent_cost"]) and run["cost"] > 0
    paper = _json(next((_out(tmp_path) / "papers").glob("*.json")))
    assert paper["provenance"]["usage"]["calls"] == 1 and paper["provenance"]["cost"] > 0
    PaperDocument.model_validate(paper)


def _server_down(request: LLMRequest) -> str:
    from pipeline.errors import ProviderError

    raise ProviderError("fake", "connection refused", retryable=True)


def test_a_dead_provider_stops_the_run_from_starting_more_papers(tmp_path: Path, fake_provider) -> None:
    from pipeline.runner import OUTAGE_PAPERS

    fake_provider(_server_down, name="fake-down")
    config = write_config(tmp_path, provider="fake-down")
    result = _run(config, "--limit", "20", "--concurrency", "1", "--set", "retry.max_attempts=1")
    assert result.exit_code == 1, result.output
    run = _json(_out(tmp_path) / "run.json")
    assert run["status_counts"]["failed"] == OUTAGE_PAPERS and run["status_counts"]["skipped"] == 20 - OUTAGE_PAPERS
    assert run["budget"]["skipped"] == 0  # not a budget stop
    digest = _json(_out(tmp_path) / "digest.json")
    last = digest["papers"][19]["validation"]
    assert last["status"] == "skipped" and last["issues"][0]["check"] == "provider"
    assert f"failed for the last {OUTAGE_PAPERS} papers in a row (provider fake: connection refused" \
        in last["issues"][0]["message"]
    assert f"{20 - OUTAGE_PAPERS} paper(s) not started: not processed: the provider failed" in result.stderr


_ALTERNATE: dict[str, bool] = {}


def _every_other_paper_down(request: LLMRequest) -> str:
    from pipeline.errors import ProviderError
    from pipeline.llm.fake import template_responder

    paper = request.tags.get("paper", "")
    failing = _ALTERNATE.setdefault(paper, len(_ALTERNATE) % 2 == 1)
    if failing:
        raise ProviderError("fake", "HTTP 503", status_code=503, retryable=True)
    return template_responder(request)


def test_a_flaky_provider_that_still_answers_does_not_stop_the_run(tmp_path: Path, fake_provider) -> None:
    # Failing papers fail on their first call, answered ones take six: at 16 workers the failures
    # finish in clusters. Answered calls in between keep the run going.
    _ALTERNATE.clear()
    fake_provider(_every_other_paper_down, name="fake-flaky")
    config = write_config(tmp_path, provider="fake-flaky")
    result = _run(config, "--limit", "40", "--concurrency", "16", "--set", "retry.max_attempts=1",
                  "--set", "providers.fake-flaky.settings.latency=0.01")
    assert result.exit_code == 1, result.output
    run = _json(_out(tmp_path) / "run.json")
    assert run["status_counts"].get("skipped", 0) == 0
    assert run["status_counts"]["failed"] == 20 and run["status_counts"]["ok"] == 20
