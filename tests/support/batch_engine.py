"""A stand-in for an engine the user runs (vLLM ``run_batch``, a download from OpenAI): it reads a
batch input file and writes the output file, in one of the shapes engines write:

- ``openai``: ``{"id", "custom_id", "response": {"status_code": 200, "request_id", "body": <completion>}, "error": null}``
  (OpenAI Batch API; vLLM ``run_batch`` since v0.5 writes the same wrapper);
- ``vllm``: vLLM's wrapper, whose failed lines have ``"body": null`` and the message in ``error``;
- ``bare``: vLLM ``run_batch`` before v0.5: ``"response"`` is the completion itself.

``fail(index, line) -> bool`` turns a line into a failure in that shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from support.fake_openai_server import _completion_body
from support.pipeline_responder import pipeline_responder

Shape = Literal["openai", "vllm", "bare"]


def output_line(line: dict[str, Any], index: int, shape: Shape, *, failed: bool = False,
                responder: Callable[[dict[str, Any]], str] = pipeline_responder) -> dict[str, Any]:
    """The output line an engine writes for input ``line`` (module docstring)."""
    head = {"id": f"vllm-{index}", "custom_id": line["custom_id"]}
    if failed:
        if shape == "openai":
            error = {"error": {"message": "The model is overloaded", "type": "server_error", "code": None}}
            return head | {"response": {"status_code": 503, "request_id": f"r{index}", "body": error}, "error": None}
        return head | {"response": {"status_code": 400, "request_id": f"r{index}", "body": None},
                       "error": "maximum context length exceeded"}
    completion = _completion_body(line["url"], line["body"], responder(line["body"]), "stop", index)
    if shape == "bare":
        return head | {"response": completion, "error": None}
    return head | {"response": {"status_code": 200, "request_id": f"r{index}", "body": completion}, "error": None}


def run_engine(requests: Path, results: Path, shape: Shape = "openai",
               fail: Callable[[int, dict[str, Any]], bool] = lambda index, line: False) -> int:
    """Answer every line of ``requests`` into ``results``; returns the number of lines."""
    lines = [json.loads(text) for text in requests.read_text(encoding="utf-8").splitlines() if text.strip()]
    with results.open("w", encoding="utf-8") as handle:
        for index, line in enumerate(lines):
            handle.write(json.dumps(output_line(line, index, shape, failed=fail(index, line))) + "\n")
    return len(lines)
