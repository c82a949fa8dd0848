"""The model-stage type: what every stage that asks a model has in common.

A :class:`ModelStage` declares its ``name``, its code ``version`` (both enter every cache key), the
template ``variables`` it gives its prompts, the kind of text it writes (which names the checks of
:mod:`pipeline.validate.suites` applied to its output), and four small methods:

- :meth:`ModelStage.units`: what to ask for in one paper (a field to translate, the summary...);
- :meth:`ModelStage.variables_for`: the prompt variables of a unit (or one segment of it);
- :meth:`ModelStage.check`: the deterministic checks of an answer;
- :meth:`ModelStage.accept`: where the kept answer goes in the paper's state.

:meth:`ModelStage.ask` is the one place that asks: it renders the stage's prompt (per segment on a
first answer, whole on a re-ask), calls the model through the shared
:class:`~pipeline.stages.caller.ModelCaller` (cache, retries, events, plan mode) and joins the
replies. The re-ask sampling rule lives here once (:func:`reask_prompt`). The ask -> check ->
re-ask loop around it is :func:`pipeline.stages.field.run_field`.

Stages are declared, in DAG order, in :mod:`pipeline.stages.registry`.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pipeline.models import FieldOrigin, Usage, ValidationIssue
from pipeline.prompts import PromptTemplate
from pipeline.stages.caller import CallResult, ModelCaller

if TYPE_CHECKING:  # the config imports the stage declaration; stages only read a loaded config
    from pipeline.config import LoadedConfig
    from pipeline.stages.job import PaperJob, RunContext

REASK_TEMPERATURE = 0.7
"""Temperature of a re-ask that is sampled rather than greedy (see :func:`reask_prompt`)."""
REPAIR_VARIABLES = frozenset({"previous", "problems"})
"""Variables every re-ask adds: the failed answer and the failing checks, one ``- check: message``
line each (both empty on a first answer where a prompt declares them)."""
TextKind = Literal["translation", "generated", "summary", "text"]


@dataclass(frozen=True)
class StageSettings:
    """What one model stage runs with: ``model``, ``prompt``, optional ``repair_prompt``, ``split``
    (``none`` | ``sentences``), resolved from a checked config."""

    name: str
    model: str
    prompt: PromptTemplate
    repair_prompt: PromptTemplate | None
    split: str
    group: str = "field"
    """``field``: one call per unit; ``paper``: all of a paper's units in one call (a stage that
    can group them, with an ``output: fields`` prompt)."""

    @classmethod
    def resolve(cls, loaded: LoadedConfig, stage: str) -> StageSettings:
        """Build from a checked config (``load_config`` already verified model and prompts exist)."""
        effective = loaded.config.stage(stage)
        assert effective.model and effective.prompt  # guaranteed by load_config
        repair = loaded.prompt(effective.repair_prompt) if effective.repair_prompt else None
        return cls(stage, effective.model, loaded.prompt(effective.prompt), repair, effective.split or "none",
                   effective.group or "field")


def reask_prompt(settings: StageSettings, attempt: int) -> tuple[PromptTemplate, dict[str, Any]]:
    """The prompt and sampling overrides of answer number ``attempt`` (0 = the first answer).

    The rule, for every stage: a first answer uses the stage's prompt, greedy. A re-ask uses the
    ``repair_prompt`` when there is one, else the prompt again. When that prompt carries the
    feedback (it is a repair prompt, or it declares ``previous``), the first re-ask is greedy and
    later ones are sampled at :data:`REASK_TEMPERATURE` with ``seed = attempt``; a prompt without
    the feedback is always sampled that way, since a greedy model asked the same would give (and
    the cache return) the same answer.
    """
    if attempt == 0:
        return settings.prompt, {}
    prompt = settings.repair_prompt or settings.prompt
    carries_feedback = settings.repair_prompt is not None or "previous" in prompt.variables
    if carries_feedback and attempt == 1:
        return prompt, {}
    return prompt, {"temperature": REASK_TEMPERATURE, "seed": attempt}


def clean_reply(text: str) -> str:
    """Normalise a model reply: trim, fold line breaks and runs of spaces to one space."""
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Unit:
    """One thing a stage asks for in a paper: ``key`` names it in provenance (``tldr``...),
    ``path`` is the output it fills (``translation.tldr``, ``summary.tldr``), ``source`` the text it
    works from (a field's Chinese text; "" when it works from the abstract), ``status`` the source
    field's status (``ok``, ``missing``, ``source_failed``)."""

    key: str
    path: str
    source: str = ""
    status: str = "ok"

    @property
    def name(self) -> str:
        """The output's last part (``tldr`` for ``summary.tldr``): its key in stage provenance."""
        return self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Answer:
    """One answer for a unit: the cleaned ``text`` ("" when a segment got no usable reply, with
    ``problem`` saying why), the ``usage`` spent, whether every call was a cache hit, and ``known``:
    False when plan mode answered some call with a stand-in (the real answer is not known yet)."""

    text: str
    usage: Usage
    cached: bool
    problem: str = ""
    known: bool = True


@dataclass
class FieldOutcome:
    """The kept answer for one unit, as :func:`~pipeline.stages.field.run_field` returns it.

    ``text`` (None: no honest text), its ``origin``, its remaining ``issues``, the issues of the first
    answer (``first_issues``, before any re-ask), ``attempts`` made (1 = first answer only),
    ``repaired`` (a re-ask fixed it), ``usage`` of every answer, ``cache`` (``hit`` when the first
    answer came from the cache), the provenance ``note`` and ``known`` (see :class:`Answer`).
    ``problem`` is why the kept answer was unusable ("" when it was read)."""

    text: str | None
    origin: FieldOrigin | None
    issues: list[ValidationIssue]
    first_issues: list[ValidationIssue]
    attempts: int
    repaired: bool
    usage: Usage
    cache: Literal["hit", "miss"] | None = None
    note: str | None = None
    known: bool = True
    problem: str = ""
    rejected: str | None = field(default=None, repr=False)

    @property
    def errors(self) -> list[ValidationIssue]:
        """The error-severity issues of the kept answer."""
        return [i for i in self.issues if i.severity == "error"]


class ModelStage(abc.ABC):
    """A stage that asks a model (module docstring). Subclasses set the class attributes and
    implement :meth:`units`, :meth:`variables_for`, :meth:`check` and :meth:`accept`."""

    name: ClassVar[str]
    version: ClassVar[str]
    variables: ClassVar[frozenset[str]]
    """Template variables the stage gives its prompts; a prompt may declare only these (plus
    :data:`REPAIR_VARIABLES` for a repair prompt): checked when the config loads."""
    text_kind: ClassVar[TextKind] = "text"
    optional: ClassVar[bool] = False
    """True: its provenance is recorded only for papers where it ran (``generate``)."""
    reads_earlier_stages: ClassVar[bool] = False
    """True when its prompts include what earlier stages wrote (the re-summary reads the
    translation): in plan mode its requests are sendable only once those answers are known."""
    description: ClassVar[str] = ""
    groups: ClassVar[bool] = False
    """True when the stage can ask for all of a paper's units in one call (``group: paper``):
    it then implements :meth:`group_variables`."""

    @abc.abstractmethod
    def units(self, job: PaperJob) -> list[Unit]:
        """What this stage asks for in ``job``'s paper, in output order (may be empty)."""

    @abc.abstractmethod
    def variables_for(self, job: PaperJob, unit: Unit, segment: str) -> dict[str, Any]:
        """The prompt variables of ``unit`` (``segment`` is the part of ``unit.source`` asked for)."""

    @abc.abstractmethod
    def check(self, job: PaperJob, unit: Unit, text: str) -> list[ValidationIssue]:
        """The deterministic checks of an answer for ``unit`` (empty: it passes)."""

    @abc.abstractmethod
    def accept(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> None:
        """Store the kept ``outcome`` of ``unit`` in ``job`` (texts, issues, provenance)."""

    def begin(self, ctx: RunContext, job: PaperJob) -> None:
        """Work before the units are asked that needs no model (translate copies English fields)."""

    def origin(self, unit: Unit) -> FieldOrigin:
        """The origin of an answer this stage wrote (``translated``, ``generated``...)."""
        return "generated"

    def segments(self, settings: StageSettings, unit: Unit) -> list[str]:
        """The parts of ``unit.source`` asked for separately on a first answer (default: whole)."""
        return [unit.source]

    def finish(self, job: PaperJob, unit: Unit, outcome: FieldOutcome) -> FieldOutcome:
        """Adjust the outcome after the last re-ask (a fallback, a rejection); default: as is."""
        return outcome

    def ask(self, caller: ModelCaller, settings: StageSettings, job: PaperJob, unit: Unit, *,
            attempt: int = 0, previous: str = "", problems: list[str] | None = None,
            after_unknown: bool = False) -> Answer:
        """Answer number ``attempt`` for ``unit`` (0 = first; a re-ask carries ``previous`` and
        ``problems``), through the cache. ``after_unknown``: the request depends on an answer
        plan mode does not know yet. Raises ProviderError / RetryExhaustedError."""
        prompt, overrides = reask_prompt(settings, attempt)
        segments = self.segments(settings, unit) if attempt == 0 else [unit.source]
        feedback = {} if attempt == 0 else {"previous": previous,
                                            "problems": "\n".join(f"- {p}" for p in problems or [])}
        results = [caller.call(stage=self.name, stage_version=self.version, prompt=prompt, model=settings.model,
                               variables=self.variables_for(job, unit, segment) | feedback,
                               paper_id=job.paper.arxiv_id, field_name=unit.key, depends_on_unknown=after_unknown,
                               **overrides)
                   for segment in segments or [unit.source]]
        return join_results(results)


    def group_variables(self, job: PaperJob, units: list[Unit],
                        feedback: dict[str, dict[str, str]]) -> dict[str, Any]:
        """The prompt variables of a call for all ``units`` (``feedback``: per unit key, the
        ``previous`` answer and ``problems`` of a re-ask). Only for a stage that :attr:`groups`."""
        raise NotImplementedError(f"stage {self.name} cannot ask for several units in one call")

    def ask_group(self, caller: ModelCaller, settings: StageSettings, job: PaperJob, units: list[Unit], *,
                  attempt: int = 0, previous: dict[str, str] | None = None,
                  problems: dict[str, list[str]] | None = None, after_unknown: bool = False) -> dict[str, Answer]:
        """Answer number ``attempt`` for every unit of ``units`` in one call (an ``output: fields``
        prompt), by unit key. A unit the reply does not answer gets an empty answer and a
        ``problem``; the call's usage is booked on the first unit. Raises like :meth:`ask`."""
        prompt, overrides = reask_prompt(settings, attempt)
        feedback = {} if attempt == 0 else {
            u.key: {"previous": (previous or {}).get(u.key, ""),
                    "problems": "\n".join(f"- {p}" for p in (problems or {}).get(u.key, []))} for u in units}
        result = caller.call(stage=self.name, stage_version=self.version, prompt=prompt, model=settings.model,
                             variables=self.group_variables(job, units, feedback), paper_id=job.paper.arxiv_id,
                             field_name=",".join(u.key for u in units), depends_on_unknown=after_unknown,
                             **overrides)
        texts = result.fields or {}
        return {u.key: Answer(clean_reply(texts.get(u.key, "")), result.usage if i == 0 else Usage(), result.cached,
                              result.problem or ("" if texts.get(u.key) else f"no {u.key} in the reply"),
                              result.known)
                for i, u in enumerate(units)}


def join_results(results: list[CallResult]) -> Answer:
    """One :class:`Answer` from the replies of a unit's segments: their cleaned texts joined with a
    space and their summed usage. The text is empty when any segment got no usable reply: a field
    with a silently missing sentence would pass for a translation."""
    usage = Usage()
    for result in results:
        usage = usage.add(result.usage)
    problem = next((r.problem for r in results if r.problem), "")
    text = "" if problem else " ".join(clean_reply(r.text) for r in results).strip()
    return Answer(text, usage, all(r.cached for r in results), problem, all(r.known for r in results))
