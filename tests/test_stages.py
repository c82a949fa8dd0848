"""The model-stage type: one declaration, one ask/re-ask rule, and a new stage added in one place.

The toy stage below (an English title re-write) is one class plus one ``declared(...)`` entry;
the config, the run, the cache, ``rerun --from-stage`` and provenance pick it up with no other
change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.cli import run_cli
from support.eval_config import write_config
from support.paths import SEED

from pipeline.config import load_config
from pipeline.models import ValidationIssue
from pipeline.stages.base import FieldOutcome, ModelStage, StageSettings, Unit, reask_prompt
from pipeline.stages.job import PaperJob
from pipeline.stages.registry import declared, model_stages, stage_names, stages_from
from pipeline.validate.checks import check_language, check_schema

RETITLE_PROMPT = """\
name: retitle-chat
kind: chat
description: An English title re-write (a toy stage for the tests).
variables: [title, abstract]
messages:
  - role: system
    content: Rewrite the paper's title as one plain English sentence.
  - role: user
    content: "Title: {{ title }}\\nAbstract: {{ abstract }}"
params: {max_tokens: 60, temperature: 0.0, top_p: 1.0, seed: 0}
"""


class Retitle(ModelStage):
    """The toy stage: everything a stage needs, in one class."""

    name = "retitle"
    version = "1"
    variables = frozenset({"title", "abstract"})

    def units(self, job: PaperJob) -> list[Unit]:
        return [Unit("title", "extra.title_en")]

    def variables_for(self, job: PaperJob, unit: Unit, segment: str) -> dict[str, Any]:
        return {"title": job.paper.title, "abstract": job.paper.abstract}

    def check(self, job: PaperJob, unit: Unit, text: str) -> list[ValidationIssue]:
        return check_schema(unit.path, text) or check_language(unit.path, text)

    def accept(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> None:
        if outcome.text is not None:
            job.extra["title_en"] = outcome.text


@pytest.fixture
def retitle(tmp_path: Path):
    """The toy stage declared after ``resummarize`` for one test, with a config that names it."""
    with declared(Retitle(), after="resummarize"):
        config = write_config(tmp_path, prompts={"retitle-chat": RETITLE_PROMPT},
                              extra={"stages": {"retitle": {"model": "fake-model", "prompt": "retitle-chat"}}})
        yield config


def test_the_stage_list_is_declared_once_in_dag_order() -> None:
    assert stage_names() == ("translate", "generate", "resummarize")
    assert stages_from("generate") == ("generate", "resummarize")
    with pytest.raises(KeyError):
        stages_from("nope")
    assert [s.name for s in model_stages()] == list(stage_names())


def test_a_stage_declared_in_a_test_runs_with_cache_provenance_and_rerun(retitle: Path, tmp_path: Path) -> None:
    assert stage_names()[-1] == "retitle"
    args = ("run", SEED, "--config", retitle, "--ids", "2601.16302", "--json")
    first = run_cli(*args)
    assert first.exit_code == 0, first.output
    paper = tmp_path / "out" / "seed-digest" / "papers" / "2601.16302.json"
    doc = json.loads(paper.read_text(encoding="utf-8"))
    assert doc["extra"]["title_en"].startswith("Federated learning")  # the fake answers with the abstract's start
    stage = doc["provenance"]["stages"]["retitle"]
    assert stage["prompt"] == "retitle-chat" and stage["cache"] == {"title_en": "miss"} and stage["usage"]["calls"] == 1
    assert doc["provenance"]["origins"]["extra.title_en"] == "generated"
    assert json.loads(first.stdout)["models"]["retitle"] == "fake-model"
    again = json.loads(run_cli(*args).stdout)
    assert again["model_calls"] == 0 and again["cache_hits"] == json.loads(first.stdout)["model_calls"]
    rerun = run_cli("rerun", "2601.16302", "--digest", SEED, "--config", retitle, "--from-stage", "retitle", "--json")
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["run"]["reruns"][-1]["model_calls"] == 1  # only the forced toy stage


def test_the_config_knows_the_declared_stages_only(retitle: Path, tmp_path: Path) -> None:
    assert load_config(retitle).config.stage("retitle").prompt == "retitle-chat"
    bad = write_config(tmp_path / "bad", extra={"stages": {"retitel": {"model": "m"}}})
    result = run_cli("run", SEED, "--config", bad, "--limit", "1")
    assert result.exit_code == 2 and "unknown stage 'retitel'" in result.stderr


def _settings(*, repair: bool, declares_previous: bool = False) -> StageSettings:
    from pipeline.prompts import load_prompts

    prompts = load_prompts(Path(__file__).resolve().parents[1] / "prompts",
                           ["translate-chat", "translate-chat-repair", "generate-chat"])
    main = prompts["generate-chat" if declares_previous else "translate-chat"]
    return StageSettings("x", "m", main, prompts["translate-chat-repair"] if repair else None, "none")


@pytest.mark.parametrize(("repair", "declares_previous", "expected"), [
    (True, False, [{}, {}, {"temperature": 0.7, "seed": 2}, {"temperature": 0.7, "seed": 3}]),
    (False, True, [{}, {}, {"temperature": 0.7, "seed": 2}, {"temperature": 0.7, "seed": 3}]),
    (False, False, [{}, {"temperature": 0.7, "seed": 1}, {"temperature": 0.7, "seed": 2}, {"temperature": 0.7, "seed": 3}]),
])
def test_the_reask_sampling_rule(repair: bool, declares_previous: bool, expected: list[dict]) -> None:
    settings = _settings(repair=repair, declares_previous=declares_previous)
    assert [reask_prompt(settings, attempt)[1] for attempt in range(4)] == expected
    assert reask_prompt(settings, 0)[0] is settings.prompt
    if repair:
        assert reask_prompt(settings, 1)[0] is settings.repair_prompt
