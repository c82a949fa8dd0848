"""The override layers of a config: the environment and dotted ``KEY=VALUE`` overrides.

Layers, later wins: the file; the environment (``DIGEST_PIPELINE_PROVIDER=NAME``, then
``DIGEST_PIPELINE_SET="KEY=VALUE;KEY=VALUE"``); ``--set``; command-line flags (which
:mod:`pipeline.app` turns into overrides); then a selected variant's own ``set``. Overrides are
applied to the raw mapping before validation, so a bad value is reported like one in the file,
naming the layer that set it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError

ENV_PROVIDER = "DIGEST_PIPELINE_PROVIDER"
"""Environment variable: the provider (like ``--provider``), below ``--set`` and flags."""
ENV_SET = "DIGEST_PIPELINE_SET"
"""Environment variable: ``KEY=VALUE`` overrides separated by ``;`` or newlines, below ``--set``."""


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
            problems.append(f"{label} {text}: {yaml_problem(exc) if isinstance(exc, yaml.YAMLError) else exc}")
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


def with_origin(problem: str, origins: Mapping[str, str]) -> str:
    """``problem`` ("key.path: message") naming the override that set that key, if one did: the
    environment variable or ``--set`` and the ``KEY=VALUE`` given (``origins``: key -> that text),
    rather than the file the message is filed under."""
    key = problem.partition(":")[0].strip()
    label = next((origins[k] for k in sorted(origins, key=len, reverse=True)
                  if key == k or key.startswith(f"{k}.")), None)
    return f"{problem} (set by {label})" if label else problem


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A PyYAML error on one line: the problem and where (``line L, column C``), without the
    quoted source and caret PyYAML prints on the lines below."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    context = getattr(exc, "context", None)
    return f"{context + ': ' if context else ''}{problem}{where}"


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in the YAML file ``path`` ({} for an empty file); ConfigError naming the file
    when it is missing, unreadable, not YAML, or not a mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(path, ["config file not found"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read config file: {exc}"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {yaml_problem(exc)}"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, ["the config must be a YAML mapping"])
    return data
