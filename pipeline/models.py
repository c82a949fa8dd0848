"""Data models: the parsed digest (input side) and the paper document (output contract).

The output contract is the one in ``docs/PRODUCT.md`` (``outputs/<digest-stem>/papers/<id>.json``).
``schema/paper.schema.json`` in the repo is generated from :class:`PaperDocument`
(``digest-pipeline schema``); bump :data:`SCHEMA_VERSION` when the document changes shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.2"  # 1.1: status skipped; cost, cached_usage in provenance. 1.2: typed origins, skip_reason, rejected answers

#: The five LLM-written summary fields of a digest paper, in digest order.
SUMMARY_FIELDS: tuple[str, ...] = ("tldr", "motivation", "method", "result", "conclusion")

#: The English title of each summary field, as digests and prompts write it.
FIELD_TITLES: dict[str, str] = {"tldr": "TL;DR", "motivation": "Motivation", "method": "Method",
                                "result": "Result", "conclusion": "Conclusion"}

#: Digest label (as written in the Markdown, case-insensitive) -> canonical field name.
FIELD_LABELS: dict[str, str] = {
    "tl;dr": "tldr",
    "tldr": "tldr",
    "motivation": "motivation",
    "method": "method",
    "result": "result",
    "conclusion": "conclusion",
}

SourceStatus = Literal["ok", "missing", "source_failed"]
PaperStatus = Literal["ok", "repaired", "failed", "skipped"]
SkipReason = Literal["budget", "provider", "not_selected", "stopped"]
"""Why a paper was ``skipped``: the run's budget was reached, the provider was down, a
``--limit`` / ``--ids`` run did not select it (and no run has processed it), or the run stopped
before it (Ctrl-C, a full disk, a cache that cannot be written)."""
FieldOrigin = Literal["translated", "copied", "generated", "fallback", "unusable"]
"""Where an English text came from: ``translated`` from the digest's field; ``copied`` (the field
was already English); ``generated`` from the abstract (a field the digest lacked, or the
re-summary); ``fallback`` (the abstract's first sentence, every model answer having failed); or
``unusable`` (no model reply could be read: the text is empty)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- input side


class ParseWarning(_Strict):
    """A problem found while parsing that did not stop the parse (line is 1-based)."""

    line: int | None = None
    paper_id: str | None = None
    message: str
    skipped: bool = False  # True: the record could not be read as a paper and is not in the output


class Paper(_Strict):
    """One paper as read from a digest.

    ``fields`` maps canonical field names (:data:`SUMMARY_FIELDS`) to the raw text written by the
    digest's LLM, or None when the field is absent. ``extra`` keeps any other labelled field the
    digest carries (``Keywords``, title translation, ...) verbatim, keyed by its label.
    ``abstract`` keeps paragraph breaks as ``\\n``. ``source_problems`` maps a field name to why
    its source text is not content (``"failure placeholder: Summary generation failed"``,
    ``"unfilled template {tldr}"``, ``"refusal text"``); such a field is not translated.
    ``record`` is a JSONL input's record as it was read (keys in their order; None for Markdown),
    for the English data file (:mod:`pipeline.publish.datafile`); it is left out of dumps.
    """

    arxiv_id: str
    index: int | None = None
    url: str
    title: str
    authors: list[str] = Field(default_factory=list)
    category: str | None = None
    section: str | None = None
    fields: dict[str, str | None] = Field(default_factory=dict)
    abstract: str = ""
    extra: dict[str, str] = Field(default_factory=dict)
    source_problems: dict[str, str] = Field(default_factory=dict)
    line: int | None = None
    record: dict[str, Any] | None = Field(None, exclude=True, repr=False)


class Digest(_Strict):
    """A parsed digest: papers in input order plus warnings. ``kind`` is ``markdown`` or ``jsonl``."""

    path: str
    kind: Literal["markdown", "jsonl"] = "markdown"
    papers: list[Paper] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    warnings: list[ParseWarning] = Field(default_factory=list)


# --------------------------------------------------------------------------- output side


class SourceField(_Strict):
    """One original digest field with its detected language (ISO 639-1 code or ``unknown``)."""

    text: str | None
    language: str | None = None
    status: SourceStatus = "ok"


class Translation(_Strict):
    """English versions of the five summary fields; None where no honest English text exists."""

    tldr: str | None = None
    motivation: str | None = None
    method: str | None = None
    result: str | None = None
    conclusion: str | None = None


class Summary(_Strict):
    """The English re-summary written against the abstract and the translation."""

    tldr: str | None = None


class ValidationIssue(_Strict):
    """A failed deterministic check: ``check`` is its stable name (e.g. ``residual_cjk``)."""

    field: str
    check: str
    severity: Literal["error", "warning"]
    message: str


class Validation(_Strict):
    """``ok``: passed first time; ``repaired``: passed after re-ask (or a field was generated from
    the abstract / the TL;DR fell back to it); ``failed``: errors remain; ``skipped``: not
    processed because the run's budget was reached (an issue ``budget`` says which; running again
    with a higher budget processes it, finished work coming from the cache).

    ``attempts``: model answers per field (``translation.<field>``, ``summary.tldr``);
    ``first_attempt_failures``: error issues per check on the first answer of every field,
    before any re-ask (what repair had to fix); ``rejected``: what the model wrote for a field
    left null because it failed a check. Recomputed by ``digest-pipeline validate`` except
    ``attempts``, ``first_attempt_failures`` and ``rejected``, which only a run knows.
    """

    status: PaperStatus
    skip_reason: SkipReason | None = None
    issues: list[ValidationIssue] = Field(default_factory=list)
    attempts: dict[str, int] = Field(default_factory=dict)
    first_attempt_failures: dict[str, int] = Field(default_factory=dict)
    rejected: dict[str, str] = Field(default_factory=dict, description=(
        "answers that failed their checks, by output path (translation.tldr, summary.tldr): the field "
        "itself is null (no honest English); this is what the model wrote, kept for inspection"))


def _zero(value: int) -> bool:
    return value == 0


class Usage(_Strict):
    """Token usage of model calls (tokens as reported by the provider).

    The ``batch_*`` counts are the part of the totals answered by a provider's batch engine
    (``run --batch``, ``batch import``), priced at the model's ``batch_discount``; left out of
    the JSON when 0, so documents of runs without batch answers are unchanged.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    batch_prompt_tokens: int = Field(0, exclude_if=_zero, description="part of prompt_tokens from a batch engine")
    batch_completion_tokens: int = Field(0, exclude_if=_zero,
                                         description="part of completion_tokens from a batch engine")
    batch_calls: int = Field(0, exclude_if=_zero, description="part of calls answered by a batch engine")

    def add(self, other: "Usage") -> "Usage":
        """The sum of two usages, as a new object. (``model_construct`` would skip validation
        but is slower: pydantic-core validates a few ints faster than Python builds the model.)"""
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     calls=self.calls + other.calls,
                     batch_prompt_tokens=self.batch_prompt_tokens + other.batch_prompt_tokens,
                     batch_completion_tokens=self.batch_completion_tokens + other.batch_completion_tokens,
                     batch_calls=self.batch_calls + other.batch_calls)

    def as_batch(self) -> "Usage":
        """This usage, all of it answered by a batch engine."""
        return self.model_copy(update={"batch_prompt_tokens": self.prompt_tokens,
                                       "batch_completion_tokens": self.completion_tokens,
                                       "batch_calls": self.calls})


class StageProvenance(_Strict):
    """How one stage produced its part of a paper document.

    ``usage`` is what the run that wrote the document spent (cache hits cost nothing);
    ``cached_usage`` what the calls served from the cache cost when they were made; ``cost`` the
    USD of ``usage`` at the config's ``prices`` (null when the model has no price: unknown, not 0).
    """

    provider: str | None = None
    model: str | None = None
    prompt: str | None = None
    prompt_hash: str | None = None
    cache: dict[str, Literal["hit", "miss"]] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    cached_usage: Usage = Field(default_factory=Usage)
    cost: float | None = Field(None, description="USD of usage; null = unknown (no price for the model)")
    notes: dict[str, str] = Field(default_factory=dict)


class ReusedFrom(_Strict):
    """Where a reused paper's English came from (:mod:`pipeline.reuse`): the output folder of
    that ``day``, the ``digest`` file it was made from, and the ``run_id`` that made it."""

    day: str
    digest: str
    run_id: str


class Provenance(_Strict):
    """Where a document came from; ``origins`` maps each English text's path
    (``translation.tldr``, ``summary.tldr``) to its :data:`FieldOrigin`; ``usage``/``cached_usage``/
    ``cost`` sum the model stages (``cost`` null when any model stage's is unknown),
    ``cost_saved_by_cache`` prices ``cached_usage`` the same way."""

    pipeline_version: str
    run_id: str
    reused_from: ReusedFrom | None = Field(None, description=(
        "set when the English was carried over from an earlier day's document of the same paper "
        "and abstract (no model call in this run)"))
    origins: dict[str, FieldOrigin] = Field(default_factory=dict)
    stages: dict[str, StageProvenance] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    cached_usage: Usage = Field(default_factory=Usage)
    cost: float | None = Field(None, description="USD; null = unknown")
    cost_saved_by_cache: float | None = Field(None, description="USD; null = unknown")


class PaperDocument(_Strict):
    """The per-paper output document (``papers/<arxiv_id>.json``)."""

    schema_version: str = SCHEMA_VERSION
    arxiv_id: str
    url: str
    title: str
    authors: list[str]
    category: str | None
    abstract: str
    source: dict[str, SourceField]
    extra: dict[str, str] = Field(default_factory=dict)
    translation: Translation
    summary: Summary
    validation: Validation
    provenance: Provenance
