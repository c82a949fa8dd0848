"""Stage ``resummarize``: a fresh English TL;DR written from the abstract and the translation."""

from __future__ import annotations

import re

from pipeline.models import Paper, Translation
from pipeline.stages.caller import CallResult, ModelCaller
from pipeline.stages.settings import StageSettings
from pipeline.stages.translate import resample

STAGE_VERSION = "1"


def resummarize(caller: ModelCaller, settings: StageSettings, paper: Paper, translation: Translation,
                *, attempt: int = 0, previous: str = "", problems: list[str] | None = None) -> CallResult:
    """Ask for the TL;DR. ``attempt`` > 0 is a re-ask (repair prompt, or resampling if none)."""
    variables = {"title": paper.title, "abstract": paper.abstract,
                 **{k: v or "" for k, v in translation.model_dump().items()}}
    if attempt == 0:
        return caller.call(stage="resummarize", stage_version=STAGE_VERSION, prompt=settings.prompt,
                           model=settings.model, variables=variables, paper_id=paper.arxiv_id,
                           field_name="summary")
    variables |= {"previous": previous, "problems": "\n".join(f"- {p}" for p in problems or [])}
    prompt = settings.repair_prompt or settings.prompt
    overrides = resample(attempt) if settings.repair_prompt else {"temperature": 0.7, "seed": attempt}
    return caller.call(stage="resummarize", stage_version=STAGE_VERSION, prompt=prompt,
                       model=settings.model, variables=variables, paper_id=paper.arxiv_id,
                       field_name="summary", **overrides)


def first_sentence(abstract: str) -> str:
    """The abstract's first sentence: the honest fallback TL;DR when every model attempt failed."""
    text = re.sub(r"\s+", " ", abstract).strip()
    match = re.match(r"(.+?[.!?])(?:\s+(?=[A-Z0-9])|$)", text)
    return (match.group(1) if match else text).strip()
