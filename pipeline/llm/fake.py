"""The ``fake`` provider: scripted replies, registered like the real providers.

Tests, benchmarks and ``--provider fake`` smoke runs use it to drive the real stage code with no
model. Replies come from a ``responder(request) -> str | LLMResponse``; settings may pass one
directly (from Python), name one as ``"module:function"``, or give ``replies`` (a list consumed in
order, then repeated from the last). Without any, :func:`template_responder` writes a
deterministic English stand-in from the request's template variables: a word-by-word gloss of
the source (the first CC-CEDICT sense of each word), its Latin-script terms and its figures, so
that a fake run passes validation -- the content checks included -- and exercises every stage.

Settings: ``responder``, ``replies``, ``latency`` (seconds slept per call), ``concurrency``.
Usage: prompt tokens as :func:`pipeline.llm.ratelimit.estimate_tokens` counts them, completion
tokens = reply characters / 4.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pipeline.errors import ConfigError
from pydantic import Field

from pipeline.llm.base import (
    Capabilities,
    LLMRequest,
    LLMResponse,
    Provider,
    ProviderSettings,
    checked_settings,
    register_provider,
)

Responder = Callable[[LLMRequest], "str | LLMResponse"]

_LATIN_TERM = re.compile(r"[A-Za-z][A-Za-z0-9\-\+\.]*[A-Za-z0-9]|[A-Za-z]")


_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def template_responder(request: LLMRequest) -> str:
    """A deterministic English reply built from ``request.variables`` (see module docstring).

    For a translation it glosses the source word by word (:func:`gloss_source`), then names the
    source's Latin-script terms and figures ("It refers to FeTTL, 0.002 and 2."; figures in the
    canonical forms the validator accepts),
    repeating the gloss until the text has the English length a faithful translation would
    have; for a summary it returns the abstract's first sentence. When the prompt declares
    ``output: json`` (``request.output_key``), the text comes as ``{"<output_key>": text}``; with
    ``output: fields`` (``request.output_fields``), as one such text per field, keyed by name.
    """
    if request.output_fields is not None:  # output: fields: one translation per field, as JSON
        sources = {f["name"]: f for f in request.variables.get("fields", ())}
        return json.dumps({name: _template_text(replace(request, variables={**sources[name], **{
            "field_label": sources[name].get("label", name)}})) for name in request.output_fields},
            ensure_ascii=False)
    text = _template_text(request)
    return json.dumps({request.output_key: text}, ensure_ascii=False) if request.output_key else text


def _template_text(request: LLMRequest) -> str:
    from pipeline.validate.checks import TRANSLATION_MAX_CHARS, TRANSLATION_MAX_CHARS_DEFAULT  # late: light import
    from pipeline.validate.fidelity import expected_english_chars
    from pipeline.validate.numbers import extract_number_tokens

    variables = request.variables
    if "source" in variables:
        source = str(variables["source"])
        terms = list(dict.fromkeys(_LATIN_TERM.findall(source)))
        figures = list(dict.fromkeys(t.canonical for t in extract_number_tokens(source)))
        gloss = gloss_source(source)
        parts = [f"This is about: {gloss}." if gloss else ""]  # two function words: read as English at once
        named = terms + figures  # figures after a comma or "and": never read as list markers
        if named:
            parts.append(f"It refers to {', '.join(named[:-1])}{' and ' if len(named) > 1 else ''}{named[-1]}."
                         if figures else f"It refers to {', '.join(terms)}.")
        text = " ".join(p for p in parts if p) or "It refers to the source."
        target = int(expected_english_chars(source))
        pads = iter(_PAD_OPENERS)  # each padding sentence opens differently: a loop is a `repetition` error
        while gloss and len(text) < 0.9 * target and (opener := next(pads, None)):
            text += f" {opener}: {gloss}."
        limit = TRANSLATION_MAX_CHARS.get(str(variables.get("field") or variables.get("name")),
                                          TRANSLATION_MAX_CHARS_DEFAULT)
        while len(text) > limit and " " in gloss:  # a long source: a shorter gloss, within the field's bounds
            gloss = gloss[:max(0, len(gloss) - (len(text) - limit) - 1)].rsplit(" ", 1)[0].rstrip(";")
            text = " ".join(p for p in (f"This is about: {gloss}." if gloss else "", parts[1] if len(parts) > 1 else "")
                            if p)
        return text
    if "abstract" in variables:
        abstract = str(variables["abstract"]).strip()
        first = re.split(r"(?<=[.!?])\s+", abstract, maxsplit=1)[0]
        return first or "The paper's abstract is empty."
    return "This is a reply from the fake provider."


class FakeSettings(ProviderSettings):
    """``providers.fake.settings`` (module docstring)."""

    responder: Any = Field(None, description="a callable, or 'module:function'")
    replies: list[str] | None = None
    latency: float = Field(0.0, ge=0, description="seconds slept per call")
    concurrency: int = Field(16, ge=1, strict=True)


CAPABILITIES = Capabilities(concurrency=True, json_output=True)
STAGES = {
    "translate": {"model": "fake-model", "prompt": "translate-fields-chat",
                  "repair_prompt": "translate-fields-chat-repair", "group": "paper"},
    "resummarize": {"model": "fake-model", "prompt": "resummarize-chat"},
    "generate": {"model": "fake-model", "prompt": "generate-chat"},
}
"""Default stage settings: the repo's chat prompts (a config's ``providers.fake.stages`` overrides them)."""
_PAD_OPENERS = tuple(f"{a} {b}" if b else a for b in ("", "once more", "still", "then")
                     for a in ("Also", "Again", "Here", "Thus", "So", "Therefore", "Hence", "Besides"))
"""Openers of the sentences that pad a short gloss to a translation's expected length: function
words only (nothing for the content checks to read), each sentence different."""
_MARKER = re.compile(r"(?:^|(?<=[\s；;。，,：:]))[(（]?(\d{1,2})[)）.、](?!\d)")
_NUMERALS = "一二两三四五六七八九十百千万亿零〇"


def gloss_source(source: str) -> str:
    """The first English word of the first CC-CEDICT sense of each content word of the
    source's Chinese text, in order ("提出一种新方法" -> "raise new method"), with the source's
    list markers ("1)") kept; words that start with a numeral are left to the figures, and glosses
    that are also French/German/... function words ("pour") are left out. "" when
    nothing is glossed."""
    from pipeline.validate.bilingual import FUNCTION_WORDS, first_gloss, segment  # late: loads a dictionary
    from pipeline.lang import FOREIGN_FUNCTION_WORDS
    from pipeline.validate.numbers import NUMBER_WORDS

    out: list[str] = []
    pieces = _MARKER.split(source)  # text, marker number, text, ...
    for i, piece in enumerate(pieces):
        if i % 2:
            if out:
                out[-1] += ";"  # "...; 2)": read as a list marker, not a figure
            out.append(f"{piece})")
            continue
        out += [g for run in _CJK_RUN.findall(piece) for word in segment(run)
                if word not in FUNCTION_WORDS and word[0] not in _NUMERALS
                and (g := first_gloss(word)) and g not in NUMBER_WORDS and g not in FOREIGN_FUNCTION_WORDS]
    return " ".join(out) if any(not w.endswith(")") for w in out) else ""


RECORDED_REQUESTS = 1024
"""How many of the latest requests :attr:`FakeProvider.requests` keeps (tests look at a few dozen)."""


class FakeProvider(Provider):
    """Scripted provider; thread-safe. ``requests`` records the requests received, in order: at
    least the last :data:`RECORDED_REQUESTS` (older ones are dropped, so a backfill of thousands of
    papers keeps flat memory)."""

    name = "fake"

    def __init__(self, responder: Responder | str | None = None, replies: list[str] | None = None,
                 latency: float = 0.0, concurrency: int = 16) -> None:
        checked_settings(FakeSettings, dict(responder=responder, replies=replies, latency=latency,
                                            concurrency=concurrency), "providers.fake.settings")
        self._responder = _resolve_responder(responder, replies)
        self.latency = latency
        self.max_concurrency = concurrency
        self.requests: list[LLMRequest] = []
        self._lock = threading.Lock()

    def complete(self, request: LLMRequest) -> LLMResponse:
        with self._lock:
            self.requests.append(request)
            if len(self.requests) >= 2 * RECORDED_REQUESTS:
                del self.requests[:RECORDED_REQUESTS]
        if self.latency:
            time.sleep(self.latency)
        reply = self._responder(request)
        if isinstance(reply, LLMResponse):
            return reply
        from pipeline.llm.ratelimit import estimate_tokens  # late: keeps provider import light

        return LLMResponse(text=reply, finish_reason="stop",
                           prompt_tokens=max(1, estimate_tokens(request) - request.max_tokens),
                           completion_tokens=max(1, len(reply) // 4), model=request.model)


def _resolve_responder(responder: Responder | str | None, replies: list[str] | None) -> Responder:
    if callable(responder):
        return responder
    if isinstance(responder, str):
        module, _, attr = responder.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigError("providers.fake.settings.responder", [f"cannot import {responder!r}: {exc}"]) from exc
    if replies:
        queue = list(replies)
        lock = threading.Lock()

        def scripted(_request: LLMRequest) -> str:
            with lock:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return scripted
    return template_responder


def register_fake(name: str, responder: Responder | None = None, **defaults: Any) -> None:
    """Register a :class:`FakeProvider` as ``name`` with the fake settings model, capabilities and
    default stages; ``responder`` and ``defaults`` are its settings unless the config sets them."""
    def factory(settings: dict[str, Any]) -> FakeProvider:
        return FakeProvider(**{"responder": responder, **defaults, **settings})
    register_provider(name, factory, settings=FakeSettings, capabilities=CAPABILITIES, stages=STAGES)


register_fake("fake")
