"""Config loading: defaults from the repo's config.yaml, overrides, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import SEED

from pipeline.config import apply_overrides, load_config
from pipeline.errors import ConfigError


def test_repo_config_loads_with_every_prompt(repo: Path) -> None:
    loaded = load_config(repo / "config.yaml")
    assert loaded.config.provider == "local"
    translate = loaded.config.stage("translate")
    assert translate.model == "gemma3-270m"
    assert translate.split == "sentences"
    assert loaded.prompt(translate.prompt).kind == "completion"
    assert loaded.prompt(loaded.config.stage("resummarize").prompt).kind == "chat"


def test_top_level_stage_setting_overrides_provider_default(repo: Path) -> None:
    loaded = load_config(repo / "config.yaml", ["provider=openai", "stages.translate.model=deepseek-chat"])
    assert loaded.config.stage("translate").model == "deepseek-chat"
    assert loaded.config.stage("resummarize").model == "gpt-4o-mini"
    assert loaded.config.stage("translate").prompt == "translate-fields-chat"
    assert loaded.config.stage("translate").group == "paper"  # openai: one call for a paper's fields


def test_run_timeout_and_concurrency_reach_remote_providers_not_the_local_one(repo: Path) -> None:
    from pipeline.llm.base import create_provider

    sets = ["run.timeout=5", "run.concurrency=3"]
    local = load_config(repo / "config.yaml", sets).config
    assert "timeout" not in local.provider_settings() and "concurrency" not in local.provider_settings()
    remote = load_config(repo / "config.yaml", [*sets, "provider=openai"]).config.provider_settings()
    assert remote["timeout"] == 5 and remote["concurrency"] == 3
    fake = load_config(repo / "config.yaml", [*sets, "provider=fake"]).config
    assert create_provider("fake", fake.provider_settings()).max_concurrency == 3


def test_every_problem_is_reported_at_once(repo: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(repo / "config.yaml", ["validation.max_repairs=99", "run.colour=blue",
                                           "stages.translate.prompt=no-such-prompt", "provider=nope"])
    text = str(info.value)
    assert "max_repairs" in text
    assert "colour" in text
    assert "no-such-prompt" in text
    assert "'nope' is unknown" in text
    assert len(info.value.problems) >= 4


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_bad_prompt_file_lists_its_problems(tmp_path: Path, repo: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for f in (repo / "prompts").glob("*.yaml"):
        (prompts / f.name).write_bytes(f.read_bytes())
    (prompts / "translate-fields-chat.yaml").write_text(
        "name: translate-fields-chat\nkind: chat\ncolour: red\nvariables: [source]\n"
        "messages:\n  - {role: user, content: '{{ source }} {{ titel }}'}\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text((repo / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config, ["provider=openai"])
    text = str(info.value)
    assert "colour" in text and "titel" in text


def test_override_parsing_types_and_errors() -> None:
    data, problems = apply_overrides({"run": {"concurrency": 1}}, ["run.concurrency=8", "cache.enabled=false", "junk"])
    assert data["run"]["concurrency"] == 8
    assert data["cache"]["enabled"] is False
    assert problems and "KEY=VALUE" in problems[0]


@pytest.mark.parametrize("model", ["null", "1.5", "on", "007", "@cf/meta/llama-3-8b", "a: b #c"])
def test_flag_values_are_taken_literally(repo: Path, tmp_path: Path, model: str) -> None:
    from pipeline.app import RunOptions, load_run_config

    options = RunOptions(config=repo / "config.yaml", provider="openai", model=model,
                         out_dir=tmp_path / "out #1", cache_dir=tmp_path / "cache: x",
                         base_url="http://127.0.0.1:8000/v1 #x")
    config = load_run_config(options, env={}).config
    assert {config.stage(s).model for s in ("translate", "resummarize")} == {model}
    assert config.run.out_dir == str(tmp_path / "out #1") and config.cache.dir == str(tmp_path / "cache: x")
    assert config.providers["openai"].settings["base_url"] == "http://127.0.0.1:8000/v1 #x"


def test_base_url_with_the_local_provider_says_which_provider_takes_it(repo: Path) -> None:
    from pipeline.app import RunOptions, load_run_config

    with pytest.raises(ConfigError, match="add --provider openai"):
        load_run_config(RunOptions(config=repo / "config.yaml", base_url="http://127.0.0.1:8000/v1"), env={})


def test_a_bad_value_names_the_environment_variable_or_set_that_gave_it(repo: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(repo / "config.yaml", env={"DIGEST_PIPELINE_SET": "run.concurrency=0"})
    assert raised.value.problems == ["run.concurrency: Input should be greater than or equal to 1 "
                                     "(set by DIGEST_PIPELINE_SET run.concurrency=0)"]
    with pytest.raises(ConfigError) as raised:
        load_config(repo / "config.yaml", ["run.timeout=-1"])
    assert raised.value.problems[0].endswith("(set by --set run.timeout=-1)")
    with pytest.raises(ConfigError) as raised:
        load_config(None, ["run.concurrency=abc"], env={})
    assert str(raised.value).startswith("config: ") and "(set by --set run.concurrency=abc)" in str(raised.value)


def test_a_config_that_is_not_yaml_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    """Found by a fresh user: PyYAML's 6-line message with the source and a caret was printed."""
    config = tmp_path / "config.yaml"
    config.write_text("validation:\n  max_repairs: [1\n", encoding="utf-8")
    result = run_cli("run", SEED, "--config", config, "--provider", "fake", "--out", tmp_path / "out")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{config}: not valid YAML:" in lines[0] and "(line 3, column 1)" in lines[0], lines


def test_an_unknown_provider_is_one_problem(tmp_path: Path) -> None:
    """Found by a fresh user: "7 problems" (6 unset stage models and prompts that follow from it)."""
    result = run_cli("run", SEED, "--provider", "bogus", "--out", tmp_path / "out")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "provider 'bogus' is unknown (known: fake, local, openai)" in lines[0], lines
