"""Stage ``generate``: an English summary field written from the abstract.

Used for a field whose digest source is ``missing`` or ``source_failed`` (a failure placeholder,
refusal or unfilled template), so the reader still gets all five fields. The output is checked
with :func:`pipeline.validate.checks.check_generated` (facts and figures only from the abstract)
and re-asked like any other field; the document's provenance says it was generated.

Prompt variables: ``field`` (``tldr``...), ``field_label`` (``TL;DR``...), ``field_hint`` (what
the field should say), ``title``, ``abstract``, ``previous`` and ``problems`` (both empty on the
first attempt; on a re-ask the failed output and the failing checks, one ``- check: message``
line each). A prompt that does not declare ``previous`` is re-sampled at temperature 0.7 with
seed ``attempt`` instead, so the retry can differ from the greedy first answer; re-asks after the
first are sampled that way in any case (:func:`pipeline.stages.translate.resample`).
"""

from __future__ import annotations

from pipeline.models import Paper
from pipeline.stages.caller import CallResult, ModelCaller
from pipeline.stages.settings import StageSettings
from pipeline.stages.translate import FIELD_LABELS, resample

STAGE_VERSION = "1"
STAGE = "generate"

#: What each field should say, for the prompt.
FIELD_HINTS: dict[str, str] = {
    "tldr": "one sentence: what the paper does and its main finding",
    "motivation": "one or two sentences: the problem or gap that motivates the paper",
    "method": "one or two sentences: how the proposed approach works",
    "result": "one or two sentences: the main results, with figures only as written in the abstract",
    "conclusion": "one sentence: what the authors conclude",
}


def provenance_note(status: str) -> str:
    """The ``provenance.stages["generate"].notes[field]`` text of a generated field."""
    return f"generated from the abstract: source {status}"


def generate_field(caller: ModelCaller, settings: StageSettings, paper: Paper, field: str, *,
                   attempt: int = 0, previous: str = "", problems: list[str] | None = None) -> CallResult:
    """Ask for ``field`` written from the abstract; ``attempt`` > 0 is a re-ask with feedback."""
    variables = {"field": field, "field_label": FIELD_LABELS.get(field, field),
                 "field_hint": FIELD_HINTS.get(field, field), "title": paper.title,
                 "abstract": paper.abstract, "previous": "", "problems": ""}
    prompt, overrides = settings.prompt, {}
    if attempt > 0:
        variables |= {"previous": previous, "problems": "\n".join(f"- {p}" for p in problems or [])}
        prompt = settings.repair_prompt or settings.prompt
        overrides = resample(attempt) if "previous" in prompt.variables else {"temperature": 0.7, "seed": attempt}
    return caller.call(stage=STAGE, stage_version=STAGE_VERSION, prompt=prompt, model=settings.model,
                       variables=variables, paper_id=paper.arxiv_id, field_name=field, **overrides)
