"""The OpenAI Batch API through the official ``openai`` SDK (synchronous client).

Calls (OpenAI API reference, "Files" and "Batch"):

- ``files.create(file=..., purpose="batch")`` -> ``POST /v1/files`` (multipart: ``purpose`` and
  ``file``): the input file's id;
- ``batches.create(input_file_id=..., endpoint=..., completion_window="24h")`` -> ``POST /v1/batches``;
- ``batches.retrieve(id)`` -> ``GET /v1/batches/{id}``: ``status`` (``validating``,
  ``in_progress``, ``finalizing``, ``cancelling``; then ``completed``, ``failed``, ``expired`` or
  ``cancelled``), ``request_counts`` (``total``, ``completed``, ``failed``), ``output_file_id``,
  ``error_file_id``, ``errors`` (why a batch ``failed`` validation);
- ``batches.list()`` -> ``GET /v1/batches``: finds the batch of an input file after a run was
  killed between upload and create;
- ``files.content(id)`` -> ``GET /v1/files/{id}/content``: an output or error file.

Connection and settings are the ``openai`` provider's (``base_url``, ``api_key_env``,
``timeout``, ``extra_headers``); the key is read from the environment and never shown, nor is a
credential in the URL. The SDK retries transient errors of these small control calls
(:data:`SDK_RETRIES`); what is left becomes a :class:`~pipeline.errors.ProviderError`
(``retryable`` for timeouts, dropped connections, 408/409/429/5xx).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import openai

from pipeline.errors import ProviderError
from pipeline.llm.openai_errors import cause_text, server_message
from pipeline.llm.openai_provider import (
    DEFAULT_API_KEY_ENV,
    DEFAULT_BASE_URL,
    PROVIDER_NAME,
    RETRYABLE_STATUS,
    resolve_api_key,
)
from pipeline.llm.urls import redact_url, redact_urls

COMPLETION_WINDOW = "24h"
"""The only completion window the Batch API offers."""
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
"""Statuses after which a batch changes no more (output and error files final)."""
SDK_RETRIES = 4
LIST_PAGES = 10
"""Pages of ``GET /v1/batches`` (100 each, newest first) searched for a lost batch."""


@dataclass(frozen=True)
class BatchStatus:
    """What ``GET /v1/batches/{id}`` says, in our terms. ``counts``: ``total``, ``completed``,
    ``failed`` requests; ``errors``: why the batch failed validation (one line each)."""

    id: str
    status: str
    input_file_id: str = ""
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    @property
    def terminal(self) -> bool:
        """True once the batch is ``completed``, ``failed``, ``expired`` or ``cancelled``."""
        return self.status in TERMINAL


class BatchClient:
    """The Batch API of one OpenAI-compatible server (module docstring). Raises ProviderError
    (no key for a remote server) when built."""

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, api_key_env: str = DEFAULT_API_KEY_ENV,
                 timeout: float = 60.0, extra_headers: dict[str, str] | None = None, **_ignored: Any) -> None:
        self._request_url = base_url.rstrip("/")
        self.base_url = redact_url(self._request_url)
        self._api_key = resolve_api_key(api_key_env, self.base_url)
        self._client = openai.OpenAI(api_key=self._api_key, base_url=self._request_url, timeout=timeout,
                                     max_retries=SDK_RETRIES, default_headers=dict(extra_headers or {}))

    def upload(self, name: str, content: bytes) -> str:
        """Upload a batch input file (``purpose=batch``); returns its file id."""
        return self._call("upload the input file", lambda: self._client.files.create(
            file=(name, content, "application/jsonl"), purpose="batch")).id

    def create(self, input_file_id: str, endpoint: str, metadata: dict[str, str]) -> BatchStatus:
        """Start a batch over an uploaded input file; ``endpoint`` is the lines' ``url``."""
        batch = self._call("create the batch", lambda: self._client.batches.create(
            input_file_id=input_file_id, endpoint=endpoint, completion_window=COMPLETION_WINDOW,
            metadata=metadata))
        return _status(batch)

    def retrieve(self, batch_id: str) -> BatchStatus:
        """The batch's current status."""
        return _status(self._call("read the batch status", lambda: self._client.batches.retrieve(batch_id)))

    def cancel(self, batch_id: str) -> BatchStatus:
        """Ask the server to cancel a batch (it goes ``cancelling``, then ``cancelled``)."""
        return _status(self._call("cancel the batch", lambda: self._client.batches.cancel(batch_id)))

    def find_batch(self, input_file_id: str) -> BatchStatus | None:
        """The batch created over ``input_file_id``, if any (searches :data:`LIST_PAGES` pages)."""
        page = self._call("list batches", lambda: self._client.batches.list(limit=100))
        for _ in range(LIST_PAGES):
            for batch in page.data:
                if batch.input_file_id == input_file_id:
                    return _status(batch)
            if not page.has_next_page():
                return None
            page = self._call("list batches", page.get_next_page)
        return None

    def download(self, file_id: str) -> bytes:
        """The content of an output or error file."""
        return self._call("download a result file", lambda: self._client.files.content(file_id)).content

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def _call(self, what: str, call: Any) -> Any:
        """Run one SDK call; its errors become ProviderError (module docstring)."""
        try:
            return call()
        except openai.APIStatusError as exc:
            status = exc.status_code
            hint = ("; the server has no Batch API: use `digest-pipeline batch export` and your engine's batch "
                    "runner instead" if status in (404, 405) and what.startswith(("upload", "create")) else "")
            raise ProviderError(PROVIDER_NAME, self._redact(f"cannot {what} at {self.base_url}: "
                                                            f"{server_message(exc)}{hint}"),
                                status_code=status, retryable=status in RETRYABLE_STATUS or status >= 500) from exc
        except openai.APIConnectionError as exc:  # includes timeouts
            raise ProviderError(PROVIDER_NAME, self._redact(f"cannot {what} at {self.base_url}: {cause_text(exc)}"),
                                retryable=True) from exc

    def _redact(self, text: str) -> str:
        text = redact_urls(text.replace(self._request_url, self.base_url))
        return text.replace(self._api_key, "***") if self._api_key else text


def _status(batch: Any) -> BatchStatus:
    """A :class:`BatchStatus` from the SDK's ``Batch`` object."""
    counts = batch.request_counts
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    return BatchStatus(
        id=batch.id, status=str(batch.status), input_file_id=batch.input_file_id or "",
        output_file_id=batch.output_file_id, error_file_id=batch.error_file_id,
        counts={"total": counts.total, "completed": counts.completed, "failed": counts.failed} if counts else {},
        errors=tuple(" ".join(part for part in (e.code, e.message, f"(line {e.line})" if e.line else None) if part)
                     for e in errors))
