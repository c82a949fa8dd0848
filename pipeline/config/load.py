"""Loading a config: read the file, apply the override layers, check everything at once.

:func:`load_config` validates the mapping into :class:`~pipeline.config.schema.Config`, checks the
provider choice and every provider section's settings (each provider's own settings model), each
declared stage's model and prompt, and loads every prompt the config names — in every provider
section and every variant, not only the selected one — rejecting a prompt that declares a variable
its stage does not give. Every problem, in the file, in an override or in a prompt file, is
reported in one :class:`pipeline.errors.ConfigError`, before the first model call.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.config.defaults import PACKAGED_CONFIG, PACKAGED_LABEL, PACKAGED_PROMPTS, absolute_paths, merge, \
    packaged_layer
from pipeline.config.layers import apply_overrides, env_overrides, read_yaml, with_origin
from pipeline.config.schema import BASE_VARIANT, Config, LoadedConfig, LoadedVariant, StageConfig
from pipeline.errors import ConfigError
from pipeline.prompts import PromptTemplate, _pydantic_problems, load_prompts
from pipeline.stages.base import REPAIR_VARIABLES
from pipeline.stages.registry import get_stage, stage_names

_VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def load_config(path: str | Path | None, overrides: list[str] | None = None, *,
                env: Mapping[str, str] | None = None,
                extra_variants: Mapping[str, list[str]] | None = None) -> LoadedConfig:
    """Load, override and check the config, every variant, and every prompt any of them names.

    Layers, later wins: the packaged defaults (:mod:`pipeline.config.defaults`), the file ``path``
    (None: none; its relative paths resolve against its folder), ``env`` (:data:`ENV_PROVIDER`,
    then :data:`ENV_SET`; None = no environment layer), then ``overrides`` (``--set`` and flags;
    their relative paths resolve against the current folder). Each variant of the
    ``variants`` section and of ``extra_variants`` (name -> overrides, e.g. from ``eval --variant``)
    is checked as that result plus its own overrides. Raises ConfigError listing all problems: YAML
    syntax, unknown keys, bad values, unknown provider, missing or broken prompts (in any provider
    section), per variant.
    """
    source = str(path) if path else PACKAGED_LABEL
    raw = packaged_layer(read_yaml(PACKAGED_CONFIG))
    if path:
        raw = merge(raw, absolute_paths(read_yaml(Path(path)), Path(path).resolve().parent))
    problems: list[str] = []
    origins: dict[str, str] = {}  # dotted key -> the override layer that set it last
    for label, texts in [*env_overrides(env), ("--set", list(overrides or []))]:
        raw, found = apply_overrides(raw, texts, label)
        problems += found
        for text in texts:
            origins[text.partition("=")[0].strip()] = f"{label} {text.strip()}"
    base_dir = Path.cwd()
    loader = _PromptLoader(base_dir)
    config, found = _build(raw)
    plain = set(found)  # as a variant would report them, to not repeat them per variant
    problems += [with_origin(problem, origins) for problem in found]
    where = str(path) if path else "config"  # not "packaged defaults": those are never the problem
    if config is None:
        raise ConfigError(where, problems)
    found, prompts = _check(config, loader)
    problems += found
    loaded = LoadedConfig(config=config, path=source, base_dir=base_dir, prompts=prompts)
    problems += _load_variants(loaded, raw, loader, extra_variants or {}, known=set(problems) | plain)
    if problems:
        raise ConfigError(where, list(dict.fromkeys(problems)))
    return loaded


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
    directories = list(dict.fromkeys([_resolve(loader.base_dir, config.prompts_dir), PACKAGED_PROMPTS]))
    for where, stage, role, name in _prompt_uses(config):
        prompt, found = loader.load(directories, name)
        problems += [f"{where}: {p}" for p in found]
        if prompt is None:
            continue
        prompts[name] = prompt
        provided = get_stage(stage).variables | (REPAIR_VARIABLES if role == "repair_prompt" else frozenset())
        unknown = sorted(set(prompt.variables) - provided)
        if unknown:
            problems.append(f"{where}: prompt {name!r} declares variable(s) {', '.join(unknown)} that stage "
                            f"{stage} does not provide (it provides {', '.join(sorted(provided))})")
    problems += _group_problems(config, prompts)
    return list(dict.fromkeys(problems)), prompts


def _group_problems(config: Config, prompts: dict[str, PromptTemplate]) -> list[str]:
    """``group: paper`` needs a stage that can group and ``output: fields`` prompts; an ``output:
    fields`` prompt needs ``group: paper``."""
    problems = []
    for name in stage_names():
        effective, stage = config.stage(name), get_stage(name)
        grouped = effective.group == "paper"
        if grouped and not stage.groups:
            problems.append(f"stages.{name}.group: stage {name} asks for one unit a call; 'paper' is not possible")
        for role in ("prompt", "repair_prompt"):
            prompt = prompts.get(getattr(effective, role) or "")
            if prompt is not None and (prompt.output == "fields") != grouped and stage.groups:
                problems.append(f"stages.{name}.{role}: prompt {prompt.name!r} has 'output: {prompt.output}', "
                                f"which {'needs' if prompt.output == 'fields' else 'does not go with'} 'group: paper'")
    return problems


class _PromptLoader:
    """Loads each prompt file once per :func:`load_config` call and remembers its problems."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self._seen: dict[tuple[tuple[Path, ...], str], tuple[PromptTemplate | None, list[str]]] = {}

    def load(self, directories: list[Path], name: str) -> tuple[PromptTemplate | None, list[str]]:
        """Prompt ``name`` from the first of ``directories`` that has it (the config's
        ``prompts_dir``, then the packaged prompts); its problems if it cannot be loaded."""
        key = (tuple(directories), name)
        if key not in self._seen:
            directory = next((d for d in directories if (d / f"{name}.yaml").is_file()), directories[0])
            try:
                self._seen[key] = (load_prompts(directory, [name])[name], [])
            except ConfigError as exc:
                self._seen[key] = (None, exc.problems)
        return self._seen[key]


def _resolve(base: Path, relative: str) -> Path:
    p = Path(relative).expanduser()
    return p if p.is_absolute() else base / p


def _check_stages(config: Config) -> list[str]:
    """Problems of the provider choice, each provider section's settings (under that provider's
    settings model), each stage's model and prompt, and the budget's prices."""
    from pipeline.llm import provider_names, settings_problems  # registry; imported late to avoid a cycle

    problems = []
    if config.provider not in provider_names():
        problems.append(f"provider {config.provider!r} is unknown (known: {', '.join(provider_names())})")
    for name, section in config.providers.items():
        if name in provider_names():
            problems += settings_problems(name, section.settings)
    for stage in stage_names() if config.provider in provider_names() else ():  # else: follows from it
        effective = config.stage(stage)
        if not effective.model:
            problems.append(f"stages.{stage}.model is not set for provider {config.provider!r}")
        if not effective.prompt:
            problems.append(f"stages.{stage}.prompt is not set for provider {config.provider!r}")
    unpriced = {config.stage(s).model for s in stage_names()} - set(config.prices) - {None}
    if config.budget.max_cost is not None and unpriced:
        problems += [f"budget.max_cost needs the price of model {model!r}: add prices.{model}.prompt_per_1m "
                     "and .completion_per_1m (USD per 1M tokens)" for model in sorted(unpriced)]
    return problems


def _prompt_uses(config: Config) -> list[tuple[str, str, str, str]]:
    """(config key, stage, role, prompt name) for every prompt the config names — the top-level
    ``stages`` and every provider section, selected or not — and every prompt the selected
    provider's stages use through its registered defaults."""
    sections = [("stages", config.stages)]
    sections += [(f"providers.{name}.stages", section.stages) for name, section in config.providers.items()]
    uses = []
    for prefix, stages in sections:
        for stage, settings in stages.items():
            uses += _stage_prompt_uses(f"{prefix}.{stage}", stage, settings)
    named = {use[1:] for use in uses}
    for stage in stage_names():
        effective = _stage_prompt_uses(f"providers.{config.provider} (defaults).stages.{stage}", stage,
                                       config.stage(stage))
        uses += [use for use in effective if use[1:] not in named]
    return uses


def _stage_prompt_uses(where: str, stage: str, settings: StageConfig) -> list[tuple[str, str, str, str]]:
    return [(f"{where}.{role}", stage, role, getattr(settings, role))
            for role in ("prompt", "repair_prompt") if getattr(settings, role)]
