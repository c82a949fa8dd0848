"""Scripted model failures for fake-provider runs, importable as ``support.responders:NAME``
(``--set providers.fake.settings.responder=support.responders:NAME``)."""

from __future__ import annotations

from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import template_responder

FAILING = {("2501.90301", "result")}
"""(paper, field) pairs of ``tests/data/publish/records.jsonl`` whose translation always fails."""


def echo_some_fields(request: LLMRequest) -> str:
    """The fake provider's stand-in, except that the fields in :data:`FAILING` are answered with
    their Chinese source, every time (a small model's classic failure: the field is rejected)."""
    if (request.tags.get("paper"), request.tags.get("field")) in FAILING and "source" in request.variables:
        return str(request.variables["source"])
    return template_responder(request)
