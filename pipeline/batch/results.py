"""Batch output and error files read back, and their answers put into the stage cache.

A line of an output or error file is, per engine:

- OpenAI Batch API (API reference, "The request output object"), and vLLM ``run_batch`` since
  v0.5 (``BatchRequestOutput`` with ``BatchResponseData``)::

      {"id": "...", "custom_id": "<key>", "error": null,
       "response": {"status_code": 200, "request_id": "...", "body": <chat.completion | text_completion>}}

  a failed request has a ``status_code`` other than 200 and the server's ``{"error": {...}}``
  as ``body`` (OpenAI), or ``"body": null`` and the message in ``error`` (vLLM: a string or an
  ``ErrorResponse`` object); a request the batch never ran has ``"response": null`` and
  ``"error": {"code": "batch_expired" | "batch_cancelled", "message": ...}`` (OpenAI);
- vLLM ``run_batch`` before v0.5: ``"response"`` is the bare completion object.

The answer of a line is the first choice's ``message.content`` (chat) or ``text`` (completion)
as received (null content is an empty answer, as with a direct call), its ``finish_reason`` and
``usage``; it goes into the cache under the key the ``custom_id`` names
(:func:`pipeline.batch.lines.key_of`) with :func:`pipeline.cache.put_reply` (``batch=True``:
priced at the model's ``batch_discount``). A line that is not JSON, names no key of ours, or
carries no answer is a :class:`LineFailure`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.batch.lines import key_of
from pipeline.cache import CacheStore, put_reply
from pipeline.models import Usage

EXPIRED_CODES = frozenset({"batch_expired", "batch_cancelled"})
"""Error codes of requests a batch never ran (OpenAI): the engine's doing, not the request's."""
MAX_REASON = 300


@dataclass(frozen=True)
class BatchAnswer:
    """One answer: its cache ``key``, raw ``text``, ``finish_reason`` and ``usage`` (calls=1)."""

    key: str
    text: str
    finish_reason: str
    usage: Usage


@dataclass(frozen=True)
class LineFailure:
    """A line with no usable answer: ``line`` (1-based, in its file), the ``key`` it names (None
    when it names none of ours), the ``reason`` (one line) and the engine's error ``code``."""

    line: int
    key: str | None
    reason: str
    code: str | None = None

    def describe(self, source: str = "") -> str:
        """``results.jsonl:3 (custom_id 1a2b…): reason``."""
        where = f"{source}:{self.line}" if source else f"line {self.line}"
        named = f" (custom_id {self.key[:12]}…)" if self.key else ""
        return f"{where}{named}: {self.reason}"


@dataclass
class Results:
    """What a set of output/error lines held: ``answers`` and ``failures``."""

    answers: list[BatchAnswer] = field(default_factory=list)
    failures: list[LineFailure] = field(default_factory=list)

    def extend(self, other: Results) -> None:
        self.answers += other.answers
        self.failures += other.failures


def read_results(lines: Iterable[bytes | str]) -> Results:
    """Read output/error lines of either shape (module docstring); blank lines are skipped."""
    results = Results()
    for number, raw in enumerate(lines, 1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        outcome = read_line(text, number)
        if isinstance(outcome, BatchAnswer):
            results.answers.append(outcome)
        else:
            results.failures.append(outcome)
    return results


def read_line(text: str, number: int) -> BatchAnswer | LineFailure:
    """One output/error line as an answer or a failure."""
    try:
        line = json.loads(text)
    except ValueError as exc:
        return LineFailure(number, None, f"not JSON ({exc})")
    if not isinstance(line, dict):
        return LineFailure(number, None, "not a JSON object")
    key = key_of(line.get("custom_id"))
    if key is None:
        return LineFailure(number, None, f"custom_id {str(line.get('custom_id'))[:80]!r} is not a request of ours")
    body, status = _body_and_status(line.get("response"))
    if status == 200 and isinstance(body, dict) and body.get("choices"):
        return _answer(key, body, number)
    error = line.get("error") or (body.get("error") if isinstance(body, dict) else None)
    code = _error_code(error)
    reason = _error_text(error) or ("no response" if status is None else f"HTTP {status} with no answer")
    if status not in (None, 200):
        reason = f"HTTP {status}: {reason}"
    return LineFailure(number, key, _short(reason), code)


def _body_and_status(response: Any) -> tuple[Any, int | None]:
    """The completion body and HTTP status of a line's ``response`` (wrapper or bare completion)."""
    if not isinstance(response, dict):
        return None, None
    if "choices" in response:  # vLLM before v0.5: the completion itself
        return response, 200
    status = response.get("status_code", 200)
    return response.get("body"), status if isinstance(status, int) else None


def _answer(key: str, body: dict[str, Any], number: int) -> BatchAnswer | LineFailure:
    """The first choice of a completion ``body`` as an answer."""
    choice = body["choices"][0] if isinstance(body["choices"], list) else None
    if not isinstance(choice, dict):
        return LineFailure(number, key, "the completion has no choice")
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else choice.get("text")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    return BatchAnswer(key, text if isinstance(text, str) else "", str(choice.get("finish_reason") or "stop"),
                       Usage(prompt_tokens=_count(usage.get("prompt_tokens")),
                             completion_tokens=_count(usage.get("completion_tokens")), calls=1))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _error_code(error: Any) -> str | None:
    if isinstance(error, dict):
        inner = error.get("error")
        code = inner.get("code") if isinstance(inner, dict) else error.get("code")
        return str(code) if code is not None else None
    return None


def _error_text(error: Any) -> str:
    """One line from an error of any shape: a string, ``{code, message}``, ``{"error": {...}}``."""
    if isinstance(error, dict):
        inner = error.get("error")
        if isinstance(inner, dict):
            return _error_text(inner)
        code = error.get("code") if isinstance(error.get("code"), str) else None  # vLLM: the HTTP status
        parts = [str(part) for part in (code, error.get("message")) if part not in (None, "")]
        return ": ".join(parts) or json.dumps(error)[:MAX_REASON]
    return str(error) if error not in (None, "") else ""


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


def store_answers(cache: CacheStore, answers: Iterable[BatchAnswer]) -> int:
    """Put every answer into ``cache`` as a batch-engine answer; returns how many."""
    count = 0
    for answer in answers:
        put_reply(cache, answer.key, answer.text, finish_reason=answer.finish_reason, usage=answer.usage, batch=True)
        count += 1
    return count


EXPORTED = "batch-exported:"
"""Cache key prefix of the marks ``batch export`` leaves for each request it writes, so that
``batch import`` can tell answers to those requests from a results file of another run or cache."""


def mark_exported(cache: CacheStore, keys: Iterable[str]) -> None:
    """Remember that the requests of cache ``keys`` were exported (:data:`EXPORTED`)."""
    for key in keys:
        cache.set(EXPORTED + key, {"exported": True})


def was_exported(cache: CacheStore, key: str) -> bool:
    """True when ``batch export`` wrote the request of cache ``key`` with this cache."""
    return cache.get(EXPORTED + key) is not None
