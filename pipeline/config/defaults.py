"""The packaged defaults: the repo's ``config.yaml`` and ``prompts/`` ship inside the package
(``pipeline/defaults/``), so ``digest-pipeline run`` works from any folder with no config file.

A config file (``--config FILE``, else ``./config.yaml`` when there is one) is layered over the
packaged defaults (:func:`merge`): its mappings merge key by key, any other value replaces the
default (a file's ``variants`` replace the packaged ones). Paths in a file resolve against that file's folder (:func:`absolute_paths`); with no
config file, outputs go to ``./outputs`` and the cache to ``$XDG_CACHE_HOME/digest-pipeline``
(``~/.cache/digest-pipeline``), never into the installed package. Prompts are looked up in the
config's ``prompts_dir`` first, then among the packaged prompts.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

PACKAGED = Path(str(files("pipeline") / "defaults"))
PACKAGED_CONFIG = PACKAGED / "config.yaml"
PACKAGED_PROMPTS = PACKAGED / "prompts"
PACKAGED_LABEL = "packaged defaults"
"""How errors name the packaged config (its path inside site-packages would only confuse)."""
PACKAGED_ONLY_HERE = ("cache", "dir"), ("run", "out_dir")
"""Keys of the packaged file that describe the repo checkout it comes from, not a user's run:
left out, so the no-config defaults apply (``./outputs``; the user cache folder)."""


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/digest-pipeline``, else ``~/.cache/digest-pipeline`` (XDG Base Directory
    Specification 0.8: an unset or relative ``XDG_CACHE_HOME`` is ignored)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "digest-pipeline"


def packaged_layer(raw: dict[str, Any]) -> dict[str, Any]:
    """The packaged config's mapping ``raw`` as the bottom layer: its prompts are the packaged
    prompts and the keys of :data:`PACKAGED_ONLY_HERE` are dropped."""
    layer = absolute_paths(raw, PACKAGED)
    for section, key in PACKAGED_ONLY_HERE:
        if isinstance(layer.get(section), dict):
            layer[section] = {k: v for k, v in layer[section].items() if k != key}
    return layer


def absolute_paths(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``raw`` with its relative paths (``prompts_dir``, ``cache.dir``, ``run.out_dir``, the local
    provider's ``model_dir`` and ``models``) made absolute against ``folder``, the folder of the
    file they were written in."""
    out = dict(raw)

    def fix(value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else folder / path)

    if "prompts_dir" in out:
        out["prompts_dir"] = fix(out["prompts_dir"])
    for section, key in (("cache", "dir"), ("run", "out_dir")):
        if isinstance(out.get(section), dict) and key in out[section]:
            out[section] = {**out[section], key: fix(out[section][key])}
    local = (out.get("providers") or {}).get("local") if isinstance(out.get("providers"), dict) else None
    if isinstance(local, dict) and isinstance(local.get("settings"), dict):
        settings = dict(local["settings"])
        if "model_dir" in settings:
            settings["model_dir"] = fix(settings["model_dir"])
        if isinstance(settings.get("models"), dict):
            settings["models"] = {k: fix(v) for k, v in settings["models"].items()}
        out["providers"] = {**out["providers"], "local": {**local, "settings": settings}}
    return out


REPLACED_SECTIONS = frozenset({"variants"})
"""Top-level sections a config file replaces whole: its own variants are the ones ``eval`` runs."""


def merge(base: dict[str, Any], over: dict[str, Any], *, top: bool = True) -> dict[str, Any]:
    """``over`` layered on ``base``: mappings merged key by key (recursively), other values of
    ``over`` (and the sections of :data:`REPLACED_SECTIONS`) replace those of ``base``. Neither
    input is changed."""
    merged = dict(base)
    for key, value in over.items():
        if top and key in REPLACED_SECTIONS:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value, top=False)
        else:
            merged[key] = value
    return merged
