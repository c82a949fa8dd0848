"""A self-contained fake-provider config for tests: the repo's prompts and its ``fake`` provider
section (so new stages added to the repo config come along), under provider names the tests
register, plus extra prompt files, a ``variants:`` section or other sections. The other
providers of the repo config (and so their prompts) play no part."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

from support.paths import REPO


PER_FIELD_STAGE = {"model": "fake-model", "prompt": "translate-chat", "repair_prompt": "translate-chat-repair",
                   "group": "field"}
"""The translate stage asking one call per field (the repo's fake/openai default asks one call per paper)."""
PER_FIELD = ("--set", "stages.translate.group=field", "--set", "stages.translate.prompt=translate-chat",
             "--set", "stages.translate.repair_prompt=translate-chat-repair")
"""The same as command-line overrides (``run ... *PER_FIELD``)."""


def write_config(tmp_path: Path, *, provider: str = "fake", providers: dict[str, dict[str, Any]] | None = None,
                 variants: dict[str, Any] | None = None, prompts: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None, per_field: bool = False) -> Path:
    """Write ``tmp_path/cfg/config.yaml`` and its ``prompts/``; returns the config path.

    ``providers`` maps provider name -> settings; each gets the repo's fake stage defaults
    (``per_field``: the translate stage asks one call per field, :data:`PER_FIELD_STAGE`).
    ``prompts`` maps file stem -> YAML text written next to copies of the repo's prompts.
    """
    folder = tmp_path / "cfg"
    shutil.copytree(REPO / "prompts", folder / "prompts", dirs_exist_ok=True)
    for name, text in (prompts or {}).items():
        (folder / "prompts" / f"{name}.yaml").write_text(text, encoding="utf-8")
    repo = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    fake_stages = repo["providers"]["fake"]["stages"]
    if per_field:
        fake_stages = {**fake_stages, "translate": dict(PER_FIELD_STAGE)}
    raw = {key: value for key, value in repo.items() if key not in ("providers", "variants")}
    raw["provider"] = provider
    raw["providers"] = {name: {"settings": settings, "stages": copy.deepcopy(fake_stages)}
                        for name, settings in (providers or {provider: {}}).items()}
    raw["cache"] = {"enabled": True, "dir": str(tmp_path / "cache")}
    raw["run"] = {**raw.get("run", {}), "out_dir": str(tmp_path / "out")}
    if variants is not None:
        raw["variants"] = variants
    raw.update(extra or {})
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def variant_of(prompt: str, new_name: str, marker: str) -> str:
    """The repo prompt ``prompt`` renamed to ``new_name`` with ``marker`` added to its first
    message or template (so a scripted responder can tell the variant's requests apart)."""
    data = yaml.safe_load((REPO / "prompts" / f"{prompt}.yaml").read_text(encoding="utf-8"))
    data["name"] = new_name
    if data.get("messages"):
        data["messages"][0]["content"] = f"{marker}\n{data['messages'][0]['content']}"
    else:
        data["template"] = f"{marker}\n{data['template']}"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
