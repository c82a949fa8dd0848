"""The model stages, declared once, in DAG order.

Everything that needs the list of stages reads it here: the config (which stages take a model and
prompt, and the variables each gives its prompts), ``rerun --from-stage`` (forcing a stage forces
the ones after it), the run context (which stages run, in which order) and the CLI's choices.

Adding a model stage is one new module defining a :class:`~pipeline.stages.base.ModelStage` plus
one entry in :data:`_DECLARED` (or, for a plugin or a test, :func:`declare_stage`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.stages import generate, resummarize, translate
from pipeline.stages.base import ModelStage

_DECLARED: list[ModelStage] = [translate.STAGE, generate.STAGE, resummarize.STAGE]
"""translate -> generate -> resummarize: the re-summary reads what the first two wrote."""


def model_stages() -> tuple[ModelStage, ...]:
    """Every declared model stage, in DAG order."""
    return tuple(_DECLARED)


def stage_names() -> tuple[str, ...]:
    """The declared stages' names, in DAG order."""
    return tuple(stage.name for stage in _DECLARED)


def get_stage(name: str) -> ModelStage:
    """The declared stage called ``name``; KeyError if there is none."""
    for stage in _DECLARED:
        if stage.name == name:
            return stage
    raise KeyError(name)


def stages_from(name: str) -> tuple[str, ...]:
    """``name`` and every stage declared after it (what ``rerun --from-stage NAME`` forces);
    KeyError for an unknown stage."""
    names = stage_names()
    if name not in names:
        raise KeyError(name)
    return names[names.index(name):]


def declare_stage(stage: ModelStage, *, after: str | None = None) -> None:
    """Add ``stage`` to the declaration, after the stage named ``after`` (default: last).
    ValueError if a stage of that name is already declared."""
    if stage.name in stage_names():
        raise ValueError(f"a stage named {stage.name!r} is already declared")
    position = len(_DECLARED) if after is None else stage_names().index(after) + 1
    _DECLARED.insert(position, stage)


def undeclare_stage(name: str) -> None:
    """Remove the stage called ``name`` from the declaration (KeyError if there is none)."""
    _DECLARED.remove(get_stage(name))


@contextmanager
def declared(stage: ModelStage, *, after: str | None = None) -> Iterator[ModelStage]:
    """``stage`` declared for the duration of a ``with`` block (tests, plugins)."""
    declare_stage(stage, after=after)
    try:
        yield stage
    finally:
        undeclare_stage(stage.name)
