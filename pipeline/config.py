"""``config.yaml``: which provider, model and prompt each stage uses, and how a run behaves.

The file loads into :class:`Config` (pydantic, ``extra="forbid"`` everywhere). Overrides given as
dotted ``key=value`` pairs (``--set stages.translate.prompt=NAME``; CLI flags such as ``--model``
become overrides too) are applied to the raw mapping before validation, so every problem — in the
file, in an override, or in a prompt file the config names — is reported at once, in one
:class:`pipeline.errors.ConfigError`, before the first model call.

A stage's effective settings are the provider's defaults for that stage
(``providers.<name>.stages.<stage>``) with any non-null value from the top-level ``stages.<stage>``
on top; see :meth:`Config.stage`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError
from pipeline.prompts import PromptTemplate, _pydantic_problems, load_prompts

StageName = Literal["translate", "resummarize"]
MODEL_STAGES: tuple[str, ...] = ("translate", "resummarize")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageConfig(_Strict):
    """Per-stage choice of model and prompts; None means "the provider's default"."""

    model: str | None = None
    prompt: str | None = None
    repair_prompt: str | None = None
    split: Literal["none", "sentences"] | None = None


class ProviderSection(_Strict):
    """``settings`` go to the provider factory as keyword arguments; ``stages`` are its defaults."""

    settings: dict[str, Any] = Field(default_factory=dict)
    stages: dict[StageName, StageConfig] = Field(default_factory=dict)


class ValidationConfig(_Strict):
    max_repairs: int = Field(1, ge=0, le=5)


class CacheConfig(_Strict):
    enabled: bool = True
    dir: str = ".cache/digest-pipeline"


class RetryConfig(_Strict):
    """Backoff for transient provider errors (seconds)."""

    max_attempts: int = Field(5, ge=1, le=20)
    initial_wait: float = Field(1.0, ge=0)
    max_wait: float = Field(60.0, ge=0)
    jitter: float = Field(1.0, ge=0)


class RunConfig(_Strict):
    out_dir: str = "outputs"
    concurrency: int | None = Field(None, ge=1, le=256)
    timeout: float | None = Field(None, gt=0, description="seconds per model request")


class Config(_Strict):
    """The whole configuration; see ``config.yaml`` in the repo for a commented example."""

    provider: str = "local"
    prompts_dir: str = "prompts"
    providers: dict[str, ProviderSection] = Field(default_factory=dict)
    stages: dict[StageName, StageConfig] = Field(default_factory=dict)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    def stage(self, name: str) -> StageConfig:
        """Effective settings of stage ``name`` for the selected provider."""
        section = self.providers.get(self.provider, ProviderSection())
        base = section.stages.get(name, StageConfig()).model_dump()
        top = self.stages.get(name, StageConfig()).model_dump(exclude_none=True)
        merged = StageConfig(**(base | top))
        if merged.split is None:
            merged.split = "none"
        return merged

    def provider_settings(self) -> dict[str, Any]:
        """Settings of the selected provider, with ``run.timeout`` / ``run.concurrency`` applied."""
        settings = dict(self.providers.get(self.provider, ProviderSection()).settings)
        if self.run.timeout is not None:
            settings["timeout"] = self.run.timeout
        if self.run.concurrency is not None and self.provider != "local":
            settings["concurrency"] = self.run.concurrency
        return settings

    def digest(self) -> str:
        """sha256 of the effective config (secrets never live here: keys come from env)."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


class LoadedConfig(BaseModel):
    """A checked config with the prompts it names loaded, and where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    config: Config
    path: str
    base_dir: Path
    prompts: dict[str, PromptTemplate]

    def prompt(self, name: str) -> PromptTemplate:
        return self.prompts[name]

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder unless absolute."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b.c=value"`` -> (["a","b","c"], value); value parsed as YAML (``1`` int, ``null``...)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"override {text!r} is not KEY=VALUE")
    return key.strip().split("."), yaml.safe_load(value) if value.strip() else ""


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Apply dotted overrides to a copy of ``raw``; returns (new mapping, problems)."""
    data = copy.deepcopy(raw)
    problems: list[str] = []
    for text in overrides:
        try:
            path, value = parse_override(text)
        except (ValueError, yaml.YAMLError) as exc:
            problems.append(f"--set {text}: {exc}")
            continue
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                problems.append(f"--set {text}: {part!r} is not a section")
                break
            node = child
        else:
            node[path[-1]] = value
    return data, problems


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> LoadedConfig:
    """Load, override and check the config and every prompt it names.

    ``path`` None means defaults only (prompts from ``./prompts``). Raises ConfigError listing all
    problems: YAML syntax, unknown keys, bad values, unknown provider, missing prompts or models.
    """
    source = str(path) if path else "config"
    raw = _read_yaml(Path(path)) if path else {}
    raw, problems = apply_overrides(raw, overrides or [])
    try:
        config = Config(**raw)
    except ValidationError as exc:
        raise ConfigError(source, problems + _pydantic_problems(exc)) from exc
    base_dir = Path(path).resolve().parent if path else Path.cwd()
    problems += _check_stages(config)
    prompts: dict[str, PromptTemplate] = {}
    names = _prompt_names(config)
    if names:
        try:
            prompts = load_prompts(_resolve(base_dir, config.prompts_dir), names)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(source, problems)
    return LoadedConfig(config=config, path=source, base_dir=base_dir, prompts=prompts)


def _resolve(base: Path, relative: str) -> Path:
    p = Path(relative).expanduser()
    return p if p.is_absolute() else base / p


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(path, ["config file not found"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read config file: {exc}"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, ["the config must be a YAML mapping"])
    return data


def _check_stages(config: Config) -> list[str]:
    from pipeline.llm import provider_names  # registry; imported late to avoid a cycle

    problems = []
    if config.provider not in provider_names():
        problems.append(f"provider {config.provider!r} is unknown (known: {', '.join(provider_names())})")
    for stage in MODEL_STAGES:
        effective = config.stage(stage)
        if not effective.model:
            problems.append(f"stages.{stage}.model is not set for provider {config.provider!r}")
        if not effective.prompt:
            problems.append(f"stages.{stage}.prompt is not set for provider {config.provider!r}")
    return problems


def _prompt_names(config: Config) -> list[str]:
    names = []
    for stage in MODEL_STAGES:
        effective = config.stage(stage)
        names += [n for n in (effective.prompt, effective.repair_prompt) if n]
    return names
