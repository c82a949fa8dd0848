"""``config.yaml``: which provider, model and prompt each stage uses, and how a run behaves.

The file loads into :class:`Config` (pydantic, ``extra="forbid"`` everywhere). Overrides given as
dotted ``key=value`` pairs (``--set stages.translate.prompt=NAME``; CLI flags such as ``--model``
become overrides too) are applied to the raw mapping before validation, so every problem — in the
file, in an override, or in a prompt file the config names — is reported at once, in one
:class:`pipeline.errors.ConfigError`, before the first model call.

A stage's effective settings are the provider's defaults for that stage
(``providers.<name>.stages.<stage>``) with any non-null value from the top-level ``stages.<stage>``
on top; see :meth:`Config.stage`.

Override layers, later wins: the file; the environment (``DIGEST_PIPELINE_PROVIDER=NAME``, then
``DIGEST_PIPELINE_SET="KEY=VALUE;KEY=VALUE"``); ``--set``; command-line flags. A *variant*
(``variants:`` in the file, or ad hoc from ``digest-pipeline eval --variant``) is that result plus
the variant's own overrides, applied last. Every prompt the config names — in every provider
section and every variant, not only the selected one — is loaded and checked up front.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError
from pipeline.prompts import PromptTemplate, _pydantic_problems, load_prompts

StageName = Literal["translate", "resummarize", "generate"]
#: Stages that call a model; ``generate`` writes a field from the abstract when its source is
#: missing or a failure placeholder.
MODEL_STAGES: tuple[str, ...] = ("translate", "resummarize", "generate")

ENV_PROVIDER = "DIGEST_PIPELINE_PROVIDER"
"""Environment variable: the provider (like ``--provider``), below ``--set`` and flags."""
ENV_SET = "DIGEST_PIPELINE_SET"
"""Environment variable: ``KEY=VALUE`` overrides separated by ``;`` or newlines, below ``--set``."""
BASE_VARIANT = "base"
"""The reserved variant name for the config as loaded, with no variant overrides."""
_VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

#: The template variables each model stage passes to its prompts (``pipeline/stages/*.py``); a
#: prompt declaring any other variable could never render, so it is rejected when the config
#: loads. Repair prompts also get REPAIR_VARIABLES. A stage missing here is not checked.
STAGE_VARIABLES: dict[str, frozenset[str]] = {
    "translate": frozenset({"field", "field_label", "source", "title"}),
    "resummarize": frozenset({"title", "abstract", "tldr", "motivation", "method", "result", "conclusion"}),
    "generate": frozenset({"field", "field_label", "field_hint", "title", "abstract", "previous", "problems"}),
}
REPAIR_VARIABLES = frozenset({"previous", "problems"})


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


class ModelPrice(_Strict):
    """What a model costs, in USD per million tokens (``prices: {MODEL: {...}}``)."""

    prompt_per_1m: float = Field(ge=0)
    completion_per_1m: float = Field(ge=0)


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
    variants: dict[str, VariantConfig] = Field(default_factory=dict)

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
        """Settings of the selected provider, with ``run.timeout`` / ``run.concurrency`` applied
        (not to ``local``: its model answers one call at a time and a call cannot be cut short)."""
        settings = dict(self.providers.get(self.provider, ProviderSection()).settings)
        if self.provider != "local":
            if self.run.timeout is not None:
                settings["timeout"] = self.run.timeout
            if self.run.concurrency is not None:
                settings["concurrency"] = self.run.concurrency
        return settings

    def digest(self) -> str:
        """sha256 of the effective config (secrets never live here: keys come from env).

        The ``variants`` section is left out: defining a variant does not change what a run does.
        """
        data = self.model_dump(mode="json", exclude={"variants"})
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
        """A path from the config, relative to the config file's folder unless absolute."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p


class LoadedVariant(BaseModel):
    """A variant checked by :func:`load_config`: its overrides and the resulting checked config."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str
    description: str = ""
    overrides: list[str] = Field(default_factory=list)
    origin: Literal["base", "config", "command line"]
    loaded: LoadedConfig


LoadedConfig.model_rebuild()


def env_overrides(env: Mapping[str, str] | None) -> list[tuple[str, list[str]]]:
    """The environment's override layers as (variable name, ``KEY=VALUE`` list), in the order applied."""
    if not env:
        return []
    layers: list[tuple[str, list[str]]] = []
    provider = env.get(ENV_PROVIDER, "").strip()
    if provider:
        layers.append((ENV_PROVIDER, [f"provider={provider}"]))
    sets = [part.strip() for part in re.split(r"[;\n]", env.get(ENV_SET, "")) if part.strip()]
    if sets:
        layers.append((ENV_SET, sets))
    return layers


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b.c=value"`` -> (["a","b","c"], value); value parsed as YAML (``1`` int, ``null``...)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"override {text!r} is not KEY=VALUE")
    return key.strip().split("."), yaml.safe_load(value) if value.strip() else ""


def apply_overrides(raw: dict[str, Any], overrides: list[str],
                    label: str = "--set") -> tuple[dict[str, Any], list[str]]:
    """Apply dotted overrides to a copy of ``raw``; returns (new mapping, problems named by ``label``)."""
    data = _unshared(raw)
    problems: list[str] = []
    for text in overrides:
        try:
            path, value = parse_override(text)
        except (ValueError, yaml.YAMLError) as exc:
            problems.append(f"{label} {text}: {exc}")
            continue
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                problems.append(f"{label} {text}: {part!r} is not a section")
                break
            node = child
        else:
            node[path[-1]] = value
    return data, problems


def _unshared(node: Any) -> Any:
    """A copy with no shared sub-mappings: a YAML alias (``*name``) becomes its own copy, so an
    override of one aliased section does not change the others (``copy.deepcopy`` keeps aliases)."""
    if isinstance(node, dict):
        return {key: _unshared(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_unshared(value) for value in node]
    return node


def load_config(path: str | Path | None, overrides: list[str] | None = None, *,
                env: Mapping[str, str] | None = None,
                extra_variants: Mapping[str, list[str]] | None = None) -> LoadedConfig:
    """Load, override and check the config, every variant, and every prompt any of them names.

    ``path`` None means defaults only (prompts from ``./prompts``). Layers, later wins: the file,
    ``env`` (:data:`ENV_PROVIDER`, then :data:`ENV_SET`; None = no environment layer), then
    ``overrides`` (``--set`` and flags). Each variant of the file's ``variants`` section and of
    ``extra_variants`` (name -> overrides, e.g. from ``eval --variant``) is checked as that result
    plus its own overrides. Raises ConfigError listing all problems: YAML syntax, unknown keys, bad
    values, unknown provider, missing or broken prompts (in any provider section), per variant.
    """
    source = str(path) if path else "config"
    raw = _read_yaml(Path(path)) if path else {}
    problems: list[str] = []
    origins: dict[str, str] = {}  # dotted key -> the override layer that set it last
    for label, texts in [*env_overrides(env), ("--set", list(overrides or []))]:
        raw, found = apply_overrides(raw, texts, label)
        problems += found
        for text in texts:
            origins[text.partition("=")[0].strip()] = label
    base_dir = Path(path).resolve().parent if path else Path.cwd()
    loader = _PromptLoader(base_dir)
    config, found = _build(raw)
    plain = set(found)  # as a variant would report them, to not repeat them per variant
    problems += [_with_origin(problem, origins) for problem in found]
    if config is None:
        raise ConfigError(source, problems)
    found, prompts = _check(config, loader)
    problems += found
    loaded = LoadedConfig(config=config, path=source, base_dir=base_dir, prompts=prompts)
    problems += _load_variants(loaded, raw, loader, extra_variants or {}, known=set(problems) | plain)
    if problems:
        raise ConfigError(source, list(dict.fromkeys(problems)))
    return loaded


def _with_origin(problem: str, origins: Mapping[str, str]) -> str:
    """``problem`` ("key.path: message") naming the override layer that set that key, if one
    did: an environment variable or ``--set``, rather than the file the message is filed under."""
    key = problem.partition(":")[0].strip()
    label = next((origins[k] for k in sorted(origins, key=len, reverse=True)
                  if key == k or key.startswith(f"{k}.")), None)
    return f"{problem} (set by {label})" if label else problem


def _load_variants(loaded: LoadedConfig, raw: dict[str, Any], loader: "_PromptLoader",
                   extra: Mapping[str, list[str]], known: set[str]) -> list[str]:
    """Check every variant on top of ``raw`` into ``loaded.variants``; their problems, each
    prefixed with the variant's name (problems the base config has too are not repeated)."""
    problems: list[str] = []
    for spec, spec_problems in _variant_specs(loaded.config, extra):
        problems += spec_problems
        if spec is None:
            continue
        name, description, texts, origin = spec
        prefix = f"variant {name!r}: "
        variant_raw, found = apply_overrides(raw, texts, f"{prefix}set")
        found += [f"{prefix}set {t}: a variant cannot define variants" for t in texts if t.startswith("variants")]
        config, build_problems = _build(variant_raw)
        check_problems, prompts = _check(config, loader) if config is not None else ([], {})
        problems += found + [prefix + p for p in build_problems + check_problems if p not in known]
        if config is not None:
            loaded.variants[name] = LoadedVariant(
                name=name, description=description, overrides=texts, origin=origin,
                loaded=LoadedConfig(config=config, path=loaded.path, base_dir=loaded.base_dir, prompts=prompts))
    return problems


def _variant_specs(config: Config, extra: Mapping[str, list[str]]
                   ) -> Iterator[tuple[tuple[str, str, list[str], str] | None, list[str]]]:
    """(name, description, overrides, origin) of every variant, or (None, problems) for a bad name."""
    for name, variant in config.variants.items():
        yield _variant_spec(name, variant.description, variant.override_list(), "config")
    for name, texts in extra.items():
        if name in config.variants:
            yield None, [f"variant {name!r} is defined in the config; give the command-line variant another name"]
        else:
            yield _variant_spec(name, "", list(texts), "command line")


def _variant_spec(name: str, description: str, texts: list[str],
                  origin: str) -> tuple[tuple[str, str, list[str], str] | None, list[str]]:
    if name == BASE_VARIANT:
        return None, [f"variant name {BASE_VARIANT!r} is reserved for the config without variant overrides"]
    if not _VARIANT_NAME.match(name):
        return None, [f"variant name {name!r}: use letters, digits, '.', '_' or '-' (it names a folder)"]
    if name in ("report.json", "report.md"):
        return None, [f"variant name {name!r} is reserved: eval writes its report under that name"]
    return (name, description, texts, origin), []


def _build(raw: dict[str, Any]) -> tuple[Config | None, list[str]]:
    """Validate ``raw`` into a Config, dropping each invalid key and retrying, so that the checks
    after it (stages, prompts) still run; returns (config or None, every problem found)."""
    data = copy.deepcopy(raw)
    problems: list[str] = []
    for _ in range(10):
        try:
            return Config.model_validate(data), problems
        except ValidationError as exc:
            problems += _pydantic_problems(exc)
            if not all(_drop(data, err["loc"]) for err in exc.errors()):
                return None, problems
    return None, problems


def _drop(data: Any, loc: tuple[Any, ...]) -> bool:
    """Delete the key at ``loc`` from nested dicts; False if ``loc`` does not lead to one."""
    if not loc:
        return False
    for part in loc[:-1]:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    if isinstance(data, dict) and loc[-1] in data:
        del data[loc[-1]]
        return True
    return False


def _check(config: Config, loader: "_PromptLoader") -> tuple[list[str], dict[str, PromptTemplate]]:
    """Problems of the stage settings and of every prompt ``config`` names; the prompts that loaded."""
    problems = _check_stages(config)
    prompts: dict[str, PromptTemplate] = {}
    directory = _resolve(loader.base_dir, config.prompts_dir)
    for where, stage, role, name in _prompt_uses(config):
        prompt, found = loader.load(directory, name)
        problems += [f"{where}: {p}" for p in found]
        if prompt is None:
            continue
        prompts[name] = prompt
        provided = STAGE_VARIABLES.get(stage)
        if provided is None:
            continue
        provided |= REPAIR_VARIABLES if role == "repair_prompt" else frozenset()
        unknown = sorted(set(prompt.variables) - provided)
        if unknown:
            problems.append(f"{where}: prompt {name!r} declares variable(s) {', '.join(unknown)} that stage "
                            f"{stage} does not provide (it provides {', '.join(sorted(provided))})")
    return list(dict.fromkeys(problems)), prompts


class _PromptLoader:
    """Loads each prompt file once per :func:`load_config` call and remembers its problems."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self._seen: dict[tuple[Path, str], tuple[PromptTemplate | None, list[str]]] = {}

    def load(self, directory: Path, name: str) -> tuple[PromptTemplate | None, list[str]]:
        key = (directory, name)
        if key not in self._seen:
            try:
                self._seen[key] = (load_prompts(directory, [name])[name], [])
            except ConfigError as exc:
                self._seen[key] = (None, exc.problems)
        return self._seen[key]


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
    unpriced = {config.stage(s).model for s in MODEL_STAGES} - set(config.prices) - {None}
    if config.budget.max_cost is not None and unpriced:
        problems += [f"budget.max_cost needs the price of model {model!r}: add prices.{model}.prompt_per_1m "
                     "and .completion_per_1m (USD per 1M tokens)" for model in sorted(unpriced)]
    return problems


def _prompt_uses(config: Config) -> list[tuple[str, str, str, str]]:
    """(config key, stage, role, prompt name) for every prompt the config names: the top-level
    ``stages`` and every provider section, selected or not."""
    sections = [("stages", config.stages)]
    sections += [(f"providers.{name}.stages", section.stages) for name, section in config.providers.items()]
    uses = []
    for prefix, stages in sections:
        for stage, settings in stages.items():
            for role in ("prompt", "repair_prompt"):
                name = getattr(settings, role)
                if name:
                    uses.append((f"{prefix}.{stage}.{role}", stage, role, name))
    return uses
