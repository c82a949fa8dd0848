"""Planned requests as Batch API input lines, and input files split at the API's limits.

One line per request (OpenAI API reference, "The request input object"; vLLM
``BatchRequestInput``)::

    {"custom_id": "<cache key>", "method": "POST", "url": "/v1/chat/completions", "body": {...}}

- ``custom_id`` is the request's cache key itself (:func:`pipeline.cache.cache_key`: 64 lowercase
  hex digits), so an answer maps back to its cache entry exactly and without a table. 64
  characters of ``[0-9a-f]`` fit every engine's limit we know of (the strictest, Anthropic's
  message batches, allows 64 of ``[A-Za-z0-9_-]``); ``custom_id`` must be unique within a batch,
  which one line per distinct cache key guarantees.
- ``url`` is ``/v1`` + the path of the direct call and ``body`` exactly the body a direct call
  sends (:func:`pipeline.llm.openai_body.request_body`), so a batch answer is the answer the
  direct call would have had, under the same cache key.

An input file holds at most :data:`MAX_LINES` lines and :data:`MAX_BYTES` bytes (OpenAI: "up to
50,000 requests, and can be up to 200 MB in size"), and one ``url`` only (a batch has one
``endpoint``): :func:`split_lines` groups the lines by ``url`` and cuts each group at the limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.llm.openai_body import request_body
from pipeline.plan import PlannedRequest

MAX_LINES = 50_000
"""Requests per batch input file (OpenAI Batch API limit)."""
MAX_BYTES = 200_000_000
"""Bytes per batch input file (OpenAI: 200 MB; counted as 10**6 bytes per MB, the smaller reading)."""
API_PREFIX = "/v1"
_KEY = re.compile(r"[0-9a-f]{64}")


def custom_id(key: str) -> str:
    """The ``custom_id`` of the request stored under cache key ``key`` (module docstring)."""
    return key


def key_of(custom: object) -> str | None:
    """The cache key a ``custom_id`` stands for, or None when it is not one of ours."""
    return custom if isinstance(custom, str) and _KEY.fullmatch(custom) else None


def batch_line(planned: PlannedRequest) -> dict:
    """The input line of ``planned`` (module docstring)."""
    path, body = request_body(planned.request)
    return {"custom_id": custom_id(planned.cache_key), "method": "POST", "url": API_PREFIX + path, "body": body}


def encode_line(line: dict) -> bytes:
    """One JSONL line (UTF-8, newline-terminated)."""
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


@dataclass
class InputFile:
    """One batch input file: its ``endpoint`` (the lines' ``url``), the cache ``keys`` of its
    lines in order, and the encoded ``lines``."""

    endpoint: str
    keys: list[str] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list, repr=False)
    size: int = 0

    def content(self) -> bytes:
        """The file's bytes (JSONL)."""
        return b"".join(self.lines)


def split_lines(requests: Iterable[PlannedRequest], *, max_lines: int = MAX_LINES,
                max_bytes: int = MAX_BYTES) -> list[InputFile]:
    """The input files of ``requests``: one line per distinct cache key (the first request of
    each), grouped by endpoint, each group cut at ``max_lines`` lines / ``max_bytes`` bytes.
    Raises ValueError for a single line longer than ``max_bytes``."""
    files: list[InputFile] = []
    current: dict[str, InputFile] = {}
    seen: set[str] = set()
    for planned in requests:
        if planned.cache_key in seen:
            continue
        seen.add(planned.cache_key)
        line = batch_line(planned)
        data = encode_line(line)
        if len(data) > max_bytes:
            raise ValueError(f"request {planned.cache_key} is {len(data)} bytes, over the {max_bytes}-byte file limit")
        target = current.get(line["url"])
        if target is None or len(target.keys) >= max_lines or target.size + len(data) > max_bytes:
            target = current[line["url"]] = InputFile(line["url"])
            files.append(target)
        target.keys.append(planned.cache_key)
        target.lines.append(data)
        target.size += len(data)
    return files
