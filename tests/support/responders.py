"""Scripted model failures for fake-provider runs, importable as ``support.responders:NAME``
(``--set providers.fake.settings.responder=support.responders:NAME``)."""

from __future__ import annotations

import json

from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import template_responder

FAILING = {("2501.90301", "result")}
"""(paper, field) pairs of ``tests/data/publish/records.jsonl`` whose translation always fails."""


def with_fields(request: LLMRequest, answer) -> str:
    """The fake provider's stand-in, with ``answer(paper, field, source)`` replacing the text of a
    field wherever it returns one: in a call for one field, or in a call for several (JSON)."""
    paper = request.tags.get("paper", "")
    if request.output_fields is not None:
        reply = json.loads(template_responder(request))
        for field in request.variables.get("fields", ()):
            reply[field["name"]] = answer(paper, field["name"], field["source"]) or reply[field["name"]]
        return json.dumps(reply, ensure_ascii=False)
    if "source" in request.variables:
        mine = answer(paper, request.tags.get("field", ""), str(request.variables["source"]))
        if mine:
            return mine
    return template_responder(request)


def echo_some_fields(request: LLMRequest) -> str:
    """The fake provider's stand-in, except that the fields in :data:`FAILING` are answered with
    their Chinese source, every time (a small model's classic failure: the field is rejected)."""
    return with_fields(request, lambda paper, field, source: source if (paper, field) in FAILING else None)
