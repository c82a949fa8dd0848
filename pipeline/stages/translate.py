"""Stage ``translate``: one non-English source field to English, through the stage's prompt.

With ``split: sentences`` a long field is cut at Chinese sentence ends (。！？；) and each
sentence is translated (and cached) on its own, which small models handle far better than a
paragraph; the English sentences are joined with spaces.
"""

from __future__ import annotations

import re

from pipeline.models import Paper, Usage
from pipeline.stages.caller import CallResult, ModelCaller
from pipeline.stages.settings import StageSettings

STAGE_VERSION = "1"
FIELD_LABELS = {"tldr": "TL;DR", "motivation": "Motivation", "method": "Method",
                "result": "Result", "conclusion": "Conclusion"}
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def split_sentences(text: str) -> list[str]:
    """Cut Chinese text after 。！？； (and ASCII !?;); empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def clean_reply(text: str) -> str:
    """Normalise a model reply: trim, fold line breaks and runs of spaces to one space."""
    return re.sub(r"\s+", " ", text).strip()


def translate_field(caller: ModelCaller, settings: StageSettings, paper: Paper, field: str,
                    source: str) -> list[CallResult]:
    """Translate ``source`` (the text of ``field``); returns one CallResult per segment sent."""
    segments = split_sentences(source) if settings.split == "sentences" else [source]
    return [caller.call(stage="translate", stage_version=STAGE_VERSION, prompt=settings.prompt,
                        model=settings.model, variables=_variables(paper, field, segment),
                        paper_id=paper.arxiv_id, field_name=field)
            for segment in segments or [source]]


def repair_field(caller: ModelCaller, settings: StageSettings, paper: Paper, field: str, source: str,
                 previous: str, problems: list[str], attempt: int) -> list[CallResult]:
    """Re-ask for ``field`` with the failed output and the failing checks in the prompt.

    Uses the stage's ``repair_prompt``; without one, the normal prompt is sampled again at
    temperature 0.7 with seed ``attempt`` so the retry can differ from the greedy first answer.
    Re-asks after the first (``attempt`` > 1) are sampled the same way with the repair prompt too:
    a greedy model given the same failed output would answer (and the cache return) the same.
    """
    variables = _variables(paper, field, source) | {
        "previous": previous, "problems": "\n".join(f"- {p}" for p in problems)}
    if settings.repair_prompt is not None:
        return [caller.call(stage="translate", stage_version=STAGE_VERSION, prompt=settings.repair_prompt,
                            model=settings.model, variables=variables, paper_id=paper.arxiv_id,
                            field_name=field, **resample(attempt))]
    return [caller.call(stage="translate", stage_version=STAGE_VERSION, prompt=settings.prompt,
                        model=settings.model, variables=variables, paper_id=paper.arxiv_id,
                        field_name=field, temperature=0.7, seed=attempt)]


def resample(attempt: int) -> dict[str, float | int]:
    """Sampling overrides for re-ask number ``attempt`` with a repair prompt: none for the first
    (greedy), temperature 0.7 with seed ``attempt`` after it."""
    return {"temperature": 0.7, "seed": attempt} if attempt > 1 else {}


def join_results(results: list[CallResult]) -> tuple[str, Usage]:
    """The cleaned, space-joined text of segment replies and their summed usage.

    The text is empty when any segment got no usable reply (``CallResult.problem``): a field with
    a silently missing sentence would pass for a translation.
    """
    usage = Usage()
    for r in results:
        usage = usage.add(r.usage)
    if reply_problem(results):
        return "", usage
    return " ".join(clean_reply(r.text) for r in results).strip(), usage


def reply_problem(results: list[CallResult]) -> str:
    """Why a segment got no usable model reply (the first such), or "" when all did."""
    return next((r.problem for r in results if r.problem), "")


def _variables(paper: Paper, field: str, source: str) -> dict[str, str]:
    return {"field": field, "field_label": FIELD_LABELS.get(field, field), "source": source,
            "title": paper.title}
