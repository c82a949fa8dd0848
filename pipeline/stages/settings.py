"""Resolved per-stage settings: the model name and loaded prompt templates a stage runs with."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import LoadedConfig
from pipeline.prompts import PromptTemplate


@dataclass(frozen=True)
class StageSettings:
    """What one model stage uses: ``model``, ``prompt``, optional ``repair_prompt``, ``split`` mode."""

    name: str
    model: str
    prompt: PromptTemplate
    repair_prompt: PromptTemplate | None
    split: str

    @classmethod
    def resolve(cls, loaded: LoadedConfig, stage: str) -> "StageSettings":
        """Build from a checked config (``load_config`` already verified model and prompts exist)."""
        effective = loaded.config.stage(stage)
        assert effective.model and effective.prompt  # guaranteed by load_config
        repair = loaded.prompt(effective.repair_prompt) if effective.repair_prompt else None
        return cls(stage, effective.model, loaded.prompt(effective.prompt), repair, effective.split or "none")
