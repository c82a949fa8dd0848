"""A loopback OpenAI-compatible server with the Batch API, for batch-mode tests and the bench.

Routes (the paths and fields the ``openai`` SDK uses; OpenAI API reference, "Files", "Batch"):

- ``POST /v1/files`` (multipart ``purpose`` + ``file``) -> a file object (``file-N``);
- ``GET /v1/files/{id}/content`` -> the file's bytes (input, output or error file);
- ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window``, ``metadata``)
  -> a batch object (``batch_N``, ``validating``);
- ``GET /v1/batches/{id}`` -> the batch, moved on one step per read: ``validating`` for
  ``validating_polls`` reads, ``in_progress`` for ``in_progress_polls`` reads (or for as long
  as ``hold`` is set: :meth:`FakeBatchServer.release`), ``finalizing`` once, then its end;
- ``GET /v1/batches`` -> every batch, newest first; ``POST /v1/batches/{id}/cancel`` ->
  ``cancelling`` (for one read), then ``cancelled``, every line unrun (``batch_cancelled``);
- ``POST /v1/chat/completions`` / ``/v1/completions``: answered too, so a test can see (and
  assert the absence of) direct calls.

At its end a batch answers every input line with ``responder(body)`` (OpenAI's output line:
``{"id", "custom_id", "response": {"status_code": 200, "request_id", "body": <completion>},
"error": null}``), except that injected faults shape it:

- ``fail_line(batch_index, line_index, line) -> bool``: that line fails (an error-file line with
  ``status_code`` 500 and an OpenAI error body);
- ``expire(batch_index) -> float | None``: the batch ends ``expired`` with only that fraction of
  its lines answered; the rest are error-file lines with ``error.code`` ``batch_expired``;
- ``reject(batch_index) -> str | None``: the batch ends ``failed`` (input validation) with that
  message in ``errors.data`` and no files.

``batch_index`` counts created batches from 0; every request is recorded (:attr:`requests`).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support.fake_openai_server import (
    COMPLETION_PATHS,
    SHUTDOWN_POLL,
    RecordedRequest,
    _completion_body,
    _error_body,
    _Handler,
    _Server,
    default_responder,
)

Responder = Callable[[dict[str, Any]], str]
UNRUN_MESSAGES = {"batch_expired": "This request could not be executed before the completion window expired.",
                  "batch_cancelled": "This request was not executed because the batch was cancelled."}


@dataclass
class FakeBatch:
    """A batch the server holds: its object fields and the lines of its input file."""

    id: str
    index: int
    input_file_id: str
    endpoint: str
    lines: list[dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "validating"
    reads: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    created_at: int = field(default_factory=lambda: int(time.time()))

    def to_json(self) -> dict[str, Any]:
        """The batch object (OpenAI API reference, "The batch object")."""
        return {"id": self.id, "object": "batch", "endpoint": self.endpoint, "input_file_id": self.input_file_id,
                "completion_window": "24h", "status": self.status, "output_file_id": self.output_file_id,
                "error_file_id": self.error_file_id, "created_at": self.created_at, "metadata": self.metadata,
                "errors": {"object": "list", "data": self.errors} if self.errors else None,
                "request_counts": {"total": len(self.lines), "completed": self.completed, "failed": self.failed}}


class FakeBatchServer:
    """The server (module docstring); a context manager, :attr:`base_url` ends in ``/v1``."""

    def __init__(self, *, responder: Responder = default_responder, validating_polls: int = 1,
                 in_progress_polls: int = 1, hold: bool = False,
                 fail_line: Callable[[int, int, dict[str, Any]], bool] | None = None,
                 expire: Callable[[int], float | None] | None = None,
                 reject: Callable[[int], str | None] | None = None) -> None:
        self.responder = responder
        self.validating_polls, self.in_progress_polls = validating_polls, in_progress_polls
        self.fail_line, self.expire, self.reject = fail_line, expire, reject
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, FakeBatch] = {}
        self._held = threading.Event()
        if not hold:
            self._held.set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._requests: list[RecordedRequest] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeBatchServer:
        httpd = _Server(("127.0.0.1", 0), _BatchHandler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL},
                                        name="fake-batch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBatchServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def release(self) -> None:
        """Let held batches move on from ``in_progress``."""
        self._held.set()

    # -- recording ------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        """Recorded requests of ``method`` whose path starts with ``path_prefix``."""
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def wait_for_status(self, status: str, timeout: float = 30.0) -> FakeBatch:
        """Block until some batch has ``status`` (AssertionError after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [b for b in self.batches.values() if b.status == status]
            if found:
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"no batch reached {status} within {timeout}s")

    # -- behaviour ------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def add_file(self, content: bytes) -> str:
        with self._lock:
            file_id = self.new_id("file-")
            self.files[file_id] = content
        return file_id

    def create_batch(self, body: dict[str, Any]) -> FakeBatch | None:
        """A new batch over an uploaded file, or None when there is no such file."""
        with self._lock:
            content = self.files.get(str(body.get("input_file_id")))
            if content is None:
                return None
            lines = [json.loads(line) for line in content.splitlines() if line.strip()]
            batch = FakeBatch(self.new_id("batch_"), len(self.batches), str(body["input_file_id"]),
                              str(body.get("endpoint")), lines, dict(body.get("metadata") or {}))
            self.batches[batch.id] = batch
        return batch

    def read_batch(self, batch_id: str) -> FakeBatch | None:
        """The batch, moved on one step (module docstring)."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is not None:
                self._advance(batch)
            return batch

    def _advance(self, batch: FakeBatch) -> None:
        batch.reads += 1
        if batch.status == "validating" and batch.reads > self.validating_polls:
            batch.status, batch.reads = "in_progress", 0
        elif batch.status == "in_progress":
            batch.completed = len(batch.lines) // 2
            if batch.reads > self.in_progress_polls and self._held.is_set():
                batch.status = "finalizing"
        elif batch.status == "finalizing":
            self._end(batch)
        elif batch.status == "cancelling" and batch.reads > 1:
            self._end(batch, cancelled=True)

    def _end(self, batch: FakeBatch, *, cancelled: bool = False) -> None:
        """Write the output and error files and set the final status."""
        rejected = self.reject(batch.index) if self.reject else None
        if rejected:
            batch.status, batch.completed = "failed", 0
            batch.errors = [{"code": "invalid_request", "message": rejected, "param": None, "line": None}]
            return
        fraction = 0.0 if cancelled else (self.expire(batch.index) if self.expire else None)
        answered = len(batch.lines) if fraction is None else int(len(batch.lines) * fraction)
        outputs, errors = [], []
        unrun = "batch_cancelled" if cancelled else "batch_expired"
        for index, line in enumerate(batch.lines):
            if index >= answered:
                errors.append(self._line(line, error={"code": unrun, "message": UNRUN_MESSAGES[unrun]}))
            elif self.fail_line is not None and self.fail_line(batch.index, index, line):
                body = _error_body("The server had an error while processing your request.", "server_error", None)
                errors.append(self._line(line, status=500, body=body))
            else:
                text = self.responder(line["body"])
                body = _completion_body(line.get("url", "/v1/chat/completions"), line["body"], text, "stop", index)
                outputs.append(self._line(line, status=200, body=body))
        batch.completed, batch.failed = len(outputs), len(errors)
        batch.output_file_id = self.new_id("file-") if outputs else None
        batch.error_file_id = self.new_id("file-") if errors else None
        for file_id, lines in ((batch.output_file_id, outputs), (batch.error_file_id, errors)):
            if file_id:
                self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
        batch.status = "cancelled" if cancelled else ("expired" if fraction is not None else "completed")

    def _line(self, line: dict[str, Any], *, status: int | None = None, body: Any = None,
              error: dict[str, Any] | None = None) -> dict[str, Any]:
        """An output/error file line (OpenAI's request output object)."""
        response = None if status is None else {"status_code": status, "request_id": self.new_id("req_"), "body": body}
        return {"id": self.new_id("batch_req_"), "custom_id": line.get("custom_id"), "response": response,
                "error": error}

    def cancel(self, batch_id: str) -> FakeBatch | None:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is not None and batch.status in ("validating", "in_progress", "finalizing"):
                batch.status, batch.reads = "cancelling", 0
            return batch


class _BatchHandler(_Handler):
    """Routes of :class:`FakeBatchServer` (``self.server.fake``)."""

    server_version = "FakeBatch/1.0"

    def _read_raw(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        fake: FakeBatchServer = self.fake  # type: ignore[assignment]
        fake.record(RecordedRequest("GET", self.path, self._headers_for_record(), None))
        path = self.path.split("?")[0].rstrip("/")
        parts = path.split("/")
        if path.startswith("/v1/files/") and path.endswith("/content") and len(parts) == 5:
            content = fake.files.get(parts[3])
            if content is not None:
                return self._send(200, content, content_type="application/octet-stream")
        elif path == "/v1/batches":
            data = [b.to_json() for b in reversed(list(fake.batches.values()))]
            return self._send_json(200, {"object": "list", "data": data, "has_more": False,
                                         "first_id": data[0]["id"] if data else None,
                                         "last_id": data[-1]["id"] if data else None})
        elif path.startswith("/v1/batches/") and len(parts) == 4:
            batch = fake.read_batch(parts[3])
            if batch is not None:
                return self._send_json(200, batch.to_json())
        self._send_json(404, _error_body(f"No such object: {self.path}", "invalid_request_error", None))

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        fake: FakeBatchServer = self.fake  # type: ignore[assignment]
        raw = self._read_raw()
        if self.path == "/v1/files":
            return self._upload(fake, raw)
        body = json.loads(raw) if raw else None
        fake.record(RecordedRequest("POST", self.path, self._headers_for_record(), body))
        if self.path in COMPLETION_PATHS and isinstance(body, dict):
            reply = _completion_body(self.path, body, fake.responder(body), "stop", 0)
            return self._send_json(200, reply)
        if self.path == "/v1/batches" and isinstance(body, dict):
            batch = fake.create_batch(body)
            if batch is not None:
                return self._send_json(200, batch.to_json())
            return self._send_json(404, _error_body("No such file", "invalid_request_error", None))
        parts = self.path.split("/")
        if self.path.endswith("/cancel") and len(parts) == 5:
            batch = fake.cancel(parts[3])
            if batch is not None:
                return self._send_json(200, batch.to_json())
        self._send_json(404, _error_body(f"Unknown path {self.path}", "invalid_request_error", None))

    def _upload(self, fake: FakeBatchServer, raw: bytes) -> None:
        """``POST /v1/files``: a multipart form with ``purpose`` and ``file``."""
        form = _multipart(self.headers.get("Content-Type", ""), raw)
        fake.record(RecordedRequest("POST", self.path, self._headers_for_record(),
                                    {"purpose": form.get("purpose", b"").decode(), "filename": form.get("filename")}))
        if form.get("purpose") != b"batch" or "file" not in form:
            return self._send_json(400, _error_body("purpose must be batch, with a file", "invalid_request_error", None))
        file_id = fake.add_file(form["file"])
        self._send_json(200, {"id": file_id, "object": "file", "bytes": len(form["file"]),
                              "created_at": int(time.time()), "filename": form.get("filename") or "upload.jsonl",
                              "purpose": "batch", "status": "processed"})


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """Fields of a ``multipart/form-data`` body: name -> bytes, plus the file's ``filename``."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_payload(decode=True) or b""
        if part.get_filename():
            fields["filename"] = part.get_filename()
    return fields
