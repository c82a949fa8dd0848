"""The ``publish:`` config section, and a loader that reads only that section.

:class:`PublishConfig` belongs in the main :class:`pipeline.config.Config` schema as
``publish: PublishConfig = Field(default_factory=PublishConfig)``. Until it is there (a config
file with a ``publish:`` section would be refused by ``run``), :func:`load_publish_config` reads
the section itself from the same layers as the main loader, later wins: the file
(``--config FILE``, else ``./config.yaml`` if present, else defaults), ``DIGEST_PIPELINE_SET``,
``--set``. Keys outside ``publish.`` are not looked at (``publish`` calls no model).
This module imports :mod:`pipeline.config` only inside the loader, so the config schema can
import :class:`PublishConfig` from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError


class PublishConfig(BaseModel):
    """``publish:``: ``feed_days`` = how many of the latest days (dates that have an English data
    file in the site's ``data/``) the rolling ``feed.xml`` holds."""

    model_config = ConfigDict(extra="forbid")
    feed_days: int = Field(7, ge=1, description="days in the rolling feed.xml of the site's data branch")


def load_publish_config(path: Path | None, overrides: list[str] | None = None, *,
                        env: Mapping[str, str] | None = None) -> PublishConfig:
    """The ``publish`` section of the config (module docstring); ``env`` defaults to
    ``os.environ``. Raises ConfigError naming the file or layer and the key."""
    from pipeline.config import ENV_SET, apply_overrides, env_overrides  # late: config may import PublishConfig

    source = path if path is not None else Path("config.yaml")
    raw = _read(source) if path is not None or source.is_file() else {}
    env = os.environ if env is None else env
    layers = [layer for layer in env_overrides(env) if layer[0] == ENV_SET]
    problems: list[str] = []
    for label, texts in [*layers, ("--set", list(overrides or []))]:
        raw, found = apply_overrides(raw, [t for t in texts if t.strip().startswith("publish.")], label)
        problems += found
    section = raw.get("publish") if isinstance(raw, dict) else None
    if problems:
        raise ConfigError(source, problems)
    try:
        return PublishConfig.model_validate(section or {})
    except ValidationError as exc:
        raise ConfigError(source, [f"{'.'.join(['publish', *map(str, e['loc'])])}: {e['msg']}"
                                   for e in exc.errors()]) from None


def _read(path: Path) -> dict[str, Any]:
    """The YAML mapping of ``path``; ConfigError when it is missing, unreadable or not a mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, ["config file not found"]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(path, [f"cannot read config file: {exc}"]) from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(path, ["the config must be a YAML mapping"])
    return data or {}
