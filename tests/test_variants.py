"""Variants and override layers: config variants, ad-hoc variants, env < --set < flags, and every
problem of every variant and prompt reported at once, before the first model call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import REPO, SEED
import yaml

from pipeline.app import RunOptions, load_run_config
from pipeline.config import ENV_PROVIDER, ENV_SET, load_config
from pipeline.errors import ConfigError
from pipeline.eval.variants import parse_variant_args, select_variants

from pipeline.llm.fake import FakeProvider
from support.eval_config import variant_of, write_config

SUMMARY_B = variant_of("resummarize-chat", "resummarize-b", "VARIANT-B")
VARIANTS = {
    "A": {"description": "as configured", "set": []},
    "B": {"description": "another summary prompt", "set": {"stages.resummarize.prompt": "resummarize-b"}},
    "C": {"set": ["run.concurrency=2", "validation.max_repairs=0"]},
}
BROKEN_PROMPT = """name: translate-broken
kind: chat
colour: red
variables: [source]
messages:
  - {role: user, content: '{{ source }} {{ titel }}'}
"""
GLOSSARY_PROMPT = """name: translate-glossary
kind: chat
variables: [source, glossary]
messages:
  - {role: user, content: 'Glossary: {{ glossary }}. Translate: {{ source }}'}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, variants=VARIANTS, prompts={"resummarize-b": SUMMARY_B},
                        extra={"run": {"out_dir": str(tmp_path / "out"), "concurrency": 1}})


def test_config_variants_load_in_order_with_their_overrides(config: Path) -> None:
    loaded = load_config(config)
    assert list(loaded.variants) == ["A", "B", "C"]
    b = loaded.variant("B")
    assert b.origin == "config" and b.description == "another summary prompt"
    assert b.overrides == ["stages.resummarize.prompt=resummarize-b"]  # mapping form, shown as --set text
    assert b.loaded.config.stage("resummarize").prompt == "resummarize-b"
    assert b.loaded.prompt("resummarize-b").name == "resummarize-b"
    assert loaded.config.stage("resummarize").prompt == "resummarize-chat"  # the base is untouched
    c = loaded.variant("C").loaded.config
    assert (c.run.concurrency, c.validation.max_repairs) == (2, 0)
    assert loaded.variant("base").loaded is loaded
    assert loaded.variant("A").loaded.config.digest() == loaded.config.digest()


def test_variants_section_does_not_change_the_config_hash(tmp_path: Path, config: Path) -> None:
    without = write_config(tmp_path / "other", prompts={"resummarize-b": SUMMARY_B},
                           extra={"run": {"out_dir": str(tmp_path / "out"), "concurrency": 1},
                                  "cache": {"enabled": True, "dir": str(tmp_path / "cache")}})
    assert load_config(config).config.digest() == load_config(without).config.digest()


def test_variant_selection(config: Path) -> None:
    loaded = load_config(config)
    assert [v.name for v in select_variants(loaded, [])] == ["A", "B", "C"]
    assert [v.name for v in select_variants(loaded, ["C", "base"])] == ["C", "base"]
    with pytest.raises(ConfigError) as info:
        select_variants(loaded, ["A", "nope", "zilch"])
    assert len(info.value.problems) == 2 and "'nope'" in str(info.value) and "known: base, A, B, C" in str(info.value)
    with pytest.raises(ConfigError, match="at least two variants"):
        select_variants(loaded, ["A"])


def test_variant_arguments_select_or_define() -> None:
    names, adhoc = parse_variant_args(["base", "quick=run.timeout=5; stages.translate.prompt=translate-chat"])
    assert names == ["base", "quick"]
    assert adhoc == {"quick": ["run.timeout=5", "stages.translate.prompt=translate-chat"]}
    with pytest.raises(ConfigError) as info:
        parse_variant_args(["A", "A", "empty="])
    assert len(info.value.problems) == 2 and "twice" in str(info.value) and "no KEY=VALUE" in str(info.value)


def test_adhoc_variant_is_checked_and_loaded(config: Path) -> None:
    loaded = load_config(config, extra_variants={"quick": ["run.timeout=5"]})
    quick = loaded.variant("quick")
    assert quick.origin == "command line" and quick.loaded.config.run.timeout == 5
    with pytest.raises(ConfigError) as info:
        load_config(config, extra_variants={"B": ["run.timeout=5"], "base": [], "bad/name": [],
                                            "slow": ["run.timeout=-1"]})
    text = str(info.value)
    assert "'B' is defined in the config" in text
    assert "'base' is reserved" in text
    assert "'bad/name'" in text
    assert "variant 'slow': run.timeout" in text
    assert len(info.value.problems) == 4


def test_precedence_flag_over_set_over_env_over_file(config: Path) -> None:
    def concurrency(env: dict[str, str], **flags) -> tuple[int | None, float | None]:
        loaded = load_run_config(RunOptions(config=config, **flags), env=env)
        return loaded.config.run.concurrency, loaded.config.run.timeout

    assert concurrency({}) == (1, None)                                         # the file
    env = {ENV_SET: "run.concurrency=2;run.timeout=7"}
    assert concurrency(env) == (2, 7)                                           # env over file
    assert concurrency(env, overrides=["run.concurrency=3"]) == (3, 7)          # --set over env
    assert concurrency(env, overrides=["run.concurrency=3"], concurrency=4) == (4, 7)  # flag over --set
    assert concurrency({ENV_SET: "run.timeout=7\nrun.concurrency=5"}) == (5, 7)  # newline-separated too


def test_env_provider_is_below_the_provider_flag(tmp_path: Path, fake_provider) -> None:
    path = write_config(tmp_path, provider="fake", providers={"fake": {}, "fake-two": {}})
    assert load_run_config(RunOptions(config=path), env={}).config.provider == "fake"
    env = {ENV_PROVIDER: "fake-two"}
    fake_provider(name="fake-two")
    assert load_run_config(RunOptions(config=path), env=env).config.provider == "fake-two"
    assert load_run_config(RunOptions(config=path, provider="fake"), env=env).config.provider == "fake"
    # DIGEST_PIPELINE_SET is applied after DIGEST_PIPELINE_PROVIDER
    both = {ENV_PROVIDER: "fake-two", ENV_SET: "provider=fake"}
    assert load_run_config(RunOptions(config=path), env=both).config.provider == "fake"


def test_variant_overrides_apply_on_top_of_flags(config: Path) -> None:
    loaded = load_run_config(RunOptions(config=config, overrides=["validation.max_repairs=2"], concurrency=4),
                             env={ENV_SET: "run.timeout=9"})
    c = loaded.variant("C").loaded.config
    assert c.validation.max_repairs == 0 and c.run.concurrency == 2  # the variant's own values win
    assert c.run.timeout == 9                                        # the rest comes from the layers below


def test_bad_env_override_is_reported_with_the_variable_name(config: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_run_config(RunOptions(config=config), env={ENV_SET: "run.concurrency=0;junk"})
    text = str(info.value)
    assert f"{ENV_SET} junk" in text and "run.concurrency" in text


def test_broken_prompts_anywhere_are_all_reported_at_once(tmp_path: Path) -> None:
    """A broken prompt in a variant, an unselected provider section and a missing one: one error."""
    path = write_config(tmp_path, providers={"fake": {}, "other": {}},
                        prompts={"translate-broken": BROKEN_PROMPT, "translate-glossary": GLOSSARY_PROMPT,
                                 "resummarize-b": SUMMARY_B},
                        variants={"good": {"set": ["stages.resummarize.prompt=resummarize-b"]},
                                  "broken": {"set": ["stages.translate.prompt=translate-broken"]},
                                  "glossary": {"set": ["stages.translate.prompt=translate-glossary"]},
                                  "missing": {"set": ["stages.resummarize.prompt=no-such-prompt"]}})
    with pytest.raises(ConfigError) as info:
        load_config(path, ["providers.other.stages.translate.repair_prompt=also-missing"])
    problems = info.value.problems
    text = "\n".join(problems)
    broken = [p for p in problems if p.startswith("variant 'broken': ")]
    assert any("colour" in p for p in broken)                           # unknown key
    assert any("titel" in p for p in broken)                            # template uses an undeclared variable
    assert "variant 'glossary': stages.translate.prompt: prompt 'translate-glossary' declares variable(s) " \
           "glossary that stage translate does not provide" in text  # it could never render
    assert "variant 'missing': stages.resummarize.prompt: prompt 'no-such-prompt' not found" in text
    assert "providers.other.stages.translate.repair_prompt: prompt 'also-missing' not found" in text
    assert not any(p.startswith("variant 'good'") for p in problems)
    # the unselected provider's problem is the base config's: not repeated once per variant
    assert sum("also-missing" in p for p in problems) == 1


def test_bad_prompt_in_a_variant_stops_eval_before_any_model_call(tmp_path: Path, fake_provider) -> None:
    seen = FakeProvider()
    counting = fake_provider(factory=lambda settings: seen)
    path = write_config(tmp_path, provider=counting, prompts={"translate-broken": BROKEN_PROMPT},
                        variants={"A": {"set": []}, "broken": {"set": ["stages.translate.prompt=translate-broken"]}})
    result = run_cli("eval", SEED, "--config", str(path),
                                 "--sample", "2", "--variant", "A", "--variant", "base")
    assert result.exit_code == 2, result.output
    assert "variant 'broken'" in result.stderr and "colour" in result.stderr and "titel" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert seen.requests == []
    assert not (tmp_path / "out").exists()


def test_run_with_a_variant_and_env_override(tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SET, "stages.resummarize.prompt=resummarize-b")
    digest = SEED
    args = ["run", digest, "--config", str(config), "--ids", "2601.16302", "--out", str(tmp_path / "o")]

    def summary_prompt(result) -> str:
        assert result.exit_code == 0, result.output
        doc = json.loads((tmp_path / "o" / "seed-digest" / "papers" / "2601.16302.json").read_text(encoding="utf-8"))
        return doc["provenance"]["stages"]["resummarize"]["prompt"]

    assert summary_prompt(run_cli(*args)) == "resummarize-b"                      # env over file
    assert summary_prompt(run_cli(*args, "--set", "stages.resummarize.prompt=resummarize-chat")) \
        == "resummarize-chat"                                                                # --set over env
    monkeypatch.delenv(ENV_SET)
    assert summary_prompt(run_cli(*args, "--variant", "B")) == "resummarize-b"  # run --variant
    unknown = run_cli(*args, "--variant", "Z")
    assert unknown.exit_code == 2 and "no variant 'Z'" in unknown.stderr


def test_override_of_a_yaml_alias_changes_only_that_section(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["providers"]["other"] = {"settings": {}, "stages": raw["providers"]["fake"]["stages"]}
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    assert "*id001" in path.read_text(encoding="utf-8")  # the two sections share one YAML node
    loaded = load_config(path, ["providers.other.stages.translate.model=other-model"])
    assert loaded.config.providers["other"].stages["translate"].model == "other-model"
    assert loaded.config.providers["fake"].stages["translate"].model == "fake-model"
