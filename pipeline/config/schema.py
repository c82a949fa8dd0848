"""The configuration schema: what ``config.yaml`` may hold, as pydantic models (``extra="forbid"``
everywhere, so an unknown key is an error).

A stage's effective settings are the provider's defaults for that stage
(``providers.<name>.stages.<stage>``) with any non-null value from the top-level ``stages.<stage>``
on top (:meth:`Config.stage`). Stage names are the declared model stages
(:mod:`pipeline.stages.registry`); provider settings are checked against each provider's own
settings model when the config loads (:mod:`pipeline.config.load`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from pipeline.prompts import PromptTemplate
from pipeline.publish.settings import PublishConfig

BASE_VARIANT = "base"
"""The reserved variant name for the config as loaded, with no variant overrides."""


def _declared_stage(name: str) -> str:
    from pipeline.stages.registry import stage_names  # late: the stages import the prompt layer

    if name not in stage_names():
        raise ValueError(f"unknown stage {name!r} (stages: {', '.join(stage_names())})")
    return name


StageName = Annotated[str, AfterValidator(_declared_stage)]
"""A declared model stage's name (``translate``, ``generate``, ``resummarize``...)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageConfig(_Strict):
    """Per-stage choice of model and prompts; None means "the provider's default"."""

    model: str | None = None
    prompt: str | None = None
    repair_prompt: str | None = None
    split: Literal["none", "sentences"] | None = None
    group: Literal["field", "paper"] | None = Field(None, description=(
        "field: one call per field; paper: one call for all of a paper's fields (a stage that can, "
        "with an 'output: fields' prompt)"))


class ProviderSection(_Strict):
    """``settings`` go to the provider factory as keyword arguments; ``stages`` are its defaults."""

    settings: dict[str, Any] = Field(default_factory=dict)
    stages: dict[StageName, StageConfig] = Field(default_factory=dict)


class VariantConfig(_Strict):
    """A named variant: the base config plus ``set`` overrides, for ``digest-pipeline eval``.

    ``set`` is a list of ``KEY=VALUE`` strings (the ``--set`` syntax) or a mapping of dotted keys to
    values (``{stages.translate.prompt: NAME}``).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    description: str = ""
    overrides: list[str] | dict[str, Any] = Field(default_factory=list, alias="set")

    def override_list(self) -> list[str]:
        """The overrides as ``KEY=VALUE`` strings (mapping values JSON-encoded, which YAML reads back)."""
        if isinstance(self.overrides, dict):
            return [f"{key}={_override_value(value)}" for key, value in self.overrides.items()]
        return list(self.overrides)


def _override_value(value: Any) -> str:
    """``value`` as override text: bare when YAML reads it back unchanged, else JSON (valid YAML)."""
    if isinstance(value, str) and value:
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


class ValidationConfig(_Strict):
    max_repairs: int = Field(1, ge=0, le=5)
    fill_failed_from_abstract: bool = Field(False, description=(
        "a translated field that still fails after its re-asks is written from the abstract by the "
        "generate stage (origin generated, validated like any other) instead of being left empty"))


class CacheConfig(_Strict):
    """The stage cache: ``dir`` null = the user cache folder (``$XDG_CACHE_HOME/digest-pipeline``)."""

    enabled: bool = True
    dir: str | None = None


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


class ModelPrice(_Strict):
    """What a model costs, in USD per million tokens (``prices: {MODEL: {...}}``).

    ``batch_discount`` is the factor applied to answers from the provider's batch engine
    (``run --batch``, ``batch import``): 0.5 for OpenAI's Batch API ("50% cost discount compared
    to synchronous APIs", OpenAI Batch API guide); 1.0 (no discount) when not given.
    """

    prompt_per_1m: float = Field(ge=0)
    completion_per_1m: float = Field(ge=0)
    batch_discount: float = Field(1.0, gt=0, le=1, description="price factor of batch-engine answers")


class BudgetConfig(_Strict):
    """Spending limits of one run (model calls made, cache hits are free); null = no limit.

    When either is reached the run starts no new paper: the rest are written with status
    ``skipped`` and the run exits 1. Papers already in progress finish, so a run can overshoot
    by what those papers cost (the runner keeps about ``concurrency`` papers in progress).
    """

    max_cost: float | None = Field(None, gt=0, description="USD")
    max_tokens: int | None = Field(None, gt=0, description="prompt + completion tokens")


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
    prices: dict[str, ModelPrice] = Field(default_factory=dict, description="model name -> USD per 1M tokens")
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    variants: dict[str, VariantConfig] = Field(default_factory=dict)

    def stage(self, name: str) -> StageConfig:
        """Effective settings of stage ``name`` for the selected provider: the provider's registered
        defaults, then ``providers.<provider>.stages.<name>``, then ``stages.<name>`` (non-null
        values win)."""
        from pipeline.llm import default_stages  # late: the registry imports every provider

        section = self.providers.get(self.provider, ProviderSection())
        base = StageConfig(**default_stages(self.provider).get(name, {})).model_dump()
        if name in section.stages:
            base |= section.stages[name].model_dump(exclude_none=True)
        top = self.stages.get(name, StageConfig()).model_dump(exclude_none=True)
        merged = StageConfig(**(base | top))
        if merged.split is None:
            merged.split = "none"
        return merged

    def provider_settings(self) -> dict[str, Any]:
        """Settings of the selected provider, with ``run.timeout`` / ``run.concurrency`` applied
        where the provider takes them (:class:`pipeline.llm.base.Capabilities`; the local model
        answers one call at a time and a call cannot be cut short)."""
        from pipeline.llm import provider_spec  # late: the registry imports every provider

        settings = dict(self.providers.get(self.provider, ProviderSection()).settings)
        capabilities = provider_spec(self.provider).capabilities
        if capabilities.timeout and self.run.timeout is not None:
            settings["timeout"] = self.run.timeout
        if capabilities.concurrency and self.run.concurrency is not None:
            settings["concurrency"] = self.run.concurrency
        return settings

    def digest(self) -> str:
        """sha256 of the effective config (secrets never live here: keys come from env).

        Left out because they do not change what a run computes: the ``variants`` section, and
        where things are (``prompts_dir``, ``cache.dir``, ``run.out_dir``; the prompts' contents
        are hashed into every cache key and ``run.json``).
        """
        data = self.model_dump(mode="json", exclude={"variants": True, "prompts_dir": True, "cache": {"dir"},
                                                     "run": {"out_dir"}})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class LoadedConfig(BaseModel):
    """A checked config with the prompts it names loaded, and where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    config: Config
    path: str
    base_dir: Path
    prompts: dict[str, PromptTemplate]
    variants: dict[str, "LoadedVariant"] = Field(default_factory=dict)

    def prompt(self, name: str) -> PromptTemplate:
        return self.prompts[name]

    def variant(self, name: str) -> "LoadedVariant":
        """A checked variant by name (``base`` = this config); KeyError if there is none."""
        if name == BASE_VARIANT:
            return LoadedVariant(name=BASE_VARIANT, description="the config as loaded, no variant overrides",
                                 origin="base", loaded=self)
        return self.variants[name]

    def resolve(self, relative: str) -> Path:
        """A path from the config (file paths are already absolute: relative to the file's folder
        when loaded); any other relative path against ``base_dir`` (the current folder)."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def cache_dir(self) -> Path:
        """The stage cache folder: ``cache.dir``, else the user cache folder."""
        from pipeline.config.defaults import user_cache_dir

        return self.resolve(self.config.cache.dir) if self.config.cache.dir else user_cache_dir()

    def out_root(self) -> Path:
        """The output root (``run.out_dir``; ``./outputs`` with no config file)."""
        return self.resolve(self.config.run.out_dir)


class LoadedVariant(BaseModel):
    """A variant checked by :func:`load_config`: its overrides and the resulting checked config."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str
    description: str = ""
    overrides: list[str] = Field(default_factory=list)
    origin: Literal["base", "config", "command line"]
    loaded: LoadedConfig


LoadedConfig.model_rebuild()


