"""``config.yaml``: which provider, model and prompt each stage uses, and how a run behaves.

- :mod:`pipeline.config.schema`: the pydantic models of the file (``extra="forbid"``);
- :mod:`pipeline.config.layers`: the override layers (environment, ``--set``, flags) and reading YAML;
- :mod:`pipeline.config.load`: :func:`load_config`, which applies the layers, checks everything
  (provider settings, stages, prompts, variants) and reports every problem at once.
"""

from pipeline.config.layers import ENV_PROVIDER, ENV_SET, apply_overrides, env_overrides, parse_override
from pipeline.config.load import load_config
from pipeline.config.schema import (
    BASE_VARIANT,
    BudgetConfig,
    CacheConfig,
    Config,
    LoadedConfig,
    LoadedVariant,
    ModelPrice,
    ProviderSection,
    RetryConfig,
    RunConfig,
    StageConfig,
    ValidationConfig,
    VariantConfig,
)

__all__ = ["BASE_VARIANT", "ENV_PROVIDER", "ENV_SET", "BudgetConfig", "CacheConfig", "Config", "LoadedConfig",
           "LoadedVariant", "ModelPrice", "ProviderSection", "RetryConfig", "RunConfig", "StageConfig",
           "ValidationConfig", "VariantConfig", "apply_overrides", "env_overrides", "load_config", "parse_override"]
