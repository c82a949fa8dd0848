"""The HTTP body of an OpenAI-compatible request, built from an :class:`~pipeline.llm.base.LLMRequest`.

One builder for the two ways a request reaches a server: a direct call
(:class:`~pipeline.llm.openai_provider.OpenAIProvider`) and a line of a batch input file
(``POST /v1/batches``, whose lines carry the same ``body``). Fields follow the OpenAI API
reference for ``/v1/chat/completions`` and ``/v1/completions``: ``model``, ``messages`` or
``prompt``, ``max_tokens``, ``temperature``, ``top_p``, ``seed`` and ``stop`` (omitted when unset),
and for a chat request that asks for JSON, ``response_format``: ``{"type": "json_schema",
"json_schema": {"name", "schema", "strict": true}}`` (structured output) when the request carries a
schema and the server accepts it, else ``{"type": "json_object"}`` (JSON mode), else nothing.
"""

from __future__ import annotations

from typing import Any

from pipeline.llm.base import LLMRequest

CHAT_PATH = "/chat/completions"
COMPLETIONS_PATH = "/completions"
JSON_OBJECT_FORMAT = {"type": "json_object"}
SCHEMA_NAME = "answer"


def sampling_params(request: LLMRequest) -> dict[str, Any]:
    """The request fields shared by chat and completion calls; unset ``seed``/``stop`` omitted."""
    params: dict[str, Any] = {"model": request.model, "max_tokens": request.max_tokens,
                              "temperature": request.temperature, "top_p": request.top_p}
    if request.seed is not None:
        params["seed"] = request.seed
    if request.stop:
        params["stop"] = list(request.stop)
    return params


def response_format(request: LLMRequest, *, schema_ok: bool = True, json_ok: bool = True) -> dict[str, Any] | None:
    """What a chat request asks of its reply's shape: structured output, JSON mode or nothing
    (``schema_ok`` / ``json_ok``: False once the server has rejected that form)."""
    if request.json_schema is not None and schema_ok:
        return {"type": "json_schema", "json_schema": {"name": SCHEMA_NAME, "schema": request.json_schema,
                                                       "strict": True}}
    if (request.json_mode or request.json_schema is not None) and json_ok:
        return dict(JSON_OBJECT_FORMAT)
    return None


def request_body(request: LLMRequest, *, schema_ok: bool = True, json_ok: bool = True) -> tuple[str, dict[str, Any]]:
    """``(path, body)`` of ``request``: the path below the API root (``/chat/completions`` or
    ``/completions``) and the JSON body (module docstring)."""
    params = sampling_params(request)
    if request.kind == "completion":
        return COMPLETIONS_PATH, {"prompt": request.prompt, **params}
    body = {**params, "messages": [{"role": m.role, "content": m.content} for m in request.messages]}
    shape = response_format(request, schema_ok=schema_ok, json_ok=json_ok)
    if shape is not None:
        body["response_format"] = shape
    return CHAT_PATH, body
