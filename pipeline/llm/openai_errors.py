"""Reading an OpenAI-compatible server's error replies: what the server said, why a connection
failed, how long it asks us to wait (``Retry-After``, RFC 9110 §10.2.3, or OpenAI's
``retry-after-ms``), and whether a 400 is about ``response_format``."""

from __future__ import annotations

from collections.abc import Mapping

import openai

from pipeline.llm.retry import parse_retry_after

MAX_SERVER_MESSAGE = 300
"""Longest server error text copied into a ProviderError message (characters)."""


def mentions_response_format(exc: openai.APIStatusError) -> bool:
    """True when a 400/422 reply is about the ``response_format`` parameter."""
    return exc.param == "response_format" or "response_format" in f"{exc.message} {exc.body}"


_TOO_LONG = ("context_length_exceeded", "maximum context length", "context window", "exceed_context_size",
             "too many tokens", "prompt is too long")


def too_long(exc: openai.APIStatusError) -> bool:
    """True when a 400/413 reply says the request does not fit the model's context: OpenAI's
    ``code: context_length_exceeded`` ("This model's maximum context length is ..."), vLLM's
    "maximum context length", llama.cpp server's ``exceed_context_size_error``."""
    text = f"{getattr(exc, 'code', '') or ''} {exc.message} {exc.body}".lower()
    return any(marker in text for marker in _TOO_LONG)


def server_message(exc: openai.APIStatusError) -> str:
    """The server's own error text (OpenAI ``error.message``, else the raw body), shortened."""
    body = exc.body
    if isinstance(body, Mapping):
        text = body.get("message") or body.get("detail") or body.get("error") or body
    else:
        text = body or exc.message
    return " ".join(str(text).split())[:MAX_SERVER_MESSAGE]


def cause_text(exc: BaseException) -> str:
    """The innermost cause of a connection error (e.g. 'Server disconnected ...')."""
    cause = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause) or type(cause).__name__


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Server-requested wait in seconds: OpenAI's ``retry-after-ms``, else standard ``Retry-After``."""
    try:
        millis = float(headers.get("retry-after-ms", ""))
    except ValueError:
        return parse_retry_after(headers.get("retry-after"))
    return millis / 1000 if 0 <= millis < float("inf") else parse_retry_after(headers.get("retry-after"))
