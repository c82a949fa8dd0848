"""The ``publish:`` config section (:class:`PublishConfig`, part of the main config schema) and
:func:`load_publish_config`, which loads the config the way ``run`` does (packaged defaults, the
file, ``DIGEST_PIPELINE_SET``, ``--set``) and returns that section.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class PublishConfig(BaseModel):
    """``publish:``: ``feed_days`` = how many of the latest days (dates that have an English data
    file in the site's ``data/``) the rolling ``feed.xml`` holds."""

    model_config = ConfigDict(extra="forbid")
    feed_days: int = Field(7, ge=1, description="days in the rolling feed.xml of the site's data branch")


def load_publish_config(path: Path | None, overrides: list[str] | None = None, *,
                        env: Mapping[str, str] | None = None) -> PublishConfig:
    """The ``publish`` section of the config ``run`` would load (``path`` None: ``./config.yaml``
    when there is one, over the packaged defaults); ``env`` defaults to ``os.environ``. Raises
    ConfigError naming the file or layer and the key."""
    from pipeline.app import RunOptions, load_run_config  # late: the config schema imports this module

    return load_run_config(RunOptions(config=path, overrides=list(overrides or [])), env=env).config.publish
