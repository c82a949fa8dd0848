"""Start-up of every model command: provider settings checked with the config, capabilities
instead of provider-name branches, and the model check that ``rerun`` used to skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import fake_options, run_cli
from support.paths import CONFIG, SEED

from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.llm import provider_spec


@pytest.mark.parametrize(("setting", "needle"), [
    ("providers.fake.settings.latency=-1", "providers.fake.settings.latency: Input should be greater than or equal to 0"),
    ("providers.fake.settings.colour=red", "unknown setting 'colour'"),
    ("providers.openai.settings.concurrency=0", "providers.openai.settings.concurrency"),
    ("providers.local.settings.n_ctx=16", "providers.local.settings.n_ctx"),
])
def test_bad_provider_settings_are_one_config_error_line_exit_2(tmp_path: Path, setting: str, needle: str) -> None:
    result = run_cli("run", SEED, *fake_options(tmp_path), "--limit", "1", "--set", setting)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr and needle in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_every_provider_section_is_checked_when_the_config_loads() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(CONFIG, ["providers.openai.settings.timeout=0", "providers.local.settings.bogus=1"])
    text = str(raised.value)
    assert "providers.openai.settings.timeout" in text and "unknown setting 'bogus'" in text


def test_capabilities_say_what_each_provider_takes() -> None:
    assert provider_spec("openai").capabilities.base_url and not provider_spec("local").capabilities.base_url
    loaded = load_config(CONFIG, ["provider=local", "run.timeout=5", "run.concurrency=3"])
    assert "timeout" not in loaded.config.provider_settings()  # a local call cannot be cut short
    remote = load_config(CONFIG, ["provider=openai", "run.timeout=5", "run.concurrency=3"])
    assert remote.config.provider_settings()["timeout"] == 5 and remote.config.provider_settings()["concurrency"] == 3


def test_base_url_is_refused_by_a_provider_that_takes_none(tmp_path: Path) -> None:
    result = run_cli("run", SEED, "--config", CONFIG, "--provider", "fake", "--base-url", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2 and "takes no URL" in result.stderr


def test_rerun_checks_every_model_before_any_call(tmp_path: Path) -> None:
    assert run_cli("run", SEED, *fake_options(tmp_path), "--ids", "2601.16302").exit_code == 0
    before = (tmp_path / "out" / "seed-digest" / "run.json").read_bytes()
    result = run_cli("rerun", "2601.16302", "--digest", SEED, "--config", CONFIG, "--out", tmp_path / "out",
                     "--cache-dir", tmp_path / "cache", "--provider", "local",
                     "--set", "stages.resummarize.model=nosuchmodel", "--from-stage", "translate")
    assert result.exit_code == 2, result.output
    assert "nosuchmodel" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "out" / "seed-digest" / "run.json").read_bytes() == before
    assert json.loads(before)["reruns"] == []
