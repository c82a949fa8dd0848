"""A small OpenAI-compatible HTTP server on 127.0.0.1 for provider and retry tests.

It speaks just enough of the OpenAI REST API for :class:`pipeline.llm.openai_provider.OpenAIProvider`:

- ``POST /v1/chat/completions`` and ``POST /v1/completions`` (non-streaming), answering with the
  text of a ``responder(request_json) -> str`` callable and realistic ``usage`` numbers;
- ``GET /v1/models``, listing the configured model names.

Faults are injected per completion request from a *fault plan*: either a sequence consumed in
order (``None`` = answer normally; once the sequence is used up every request is answered
normally) or a callable ``plan(index, request_json) -> Fault | None`` where ``index`` is the
0-based number of the completion request. :class:`Fault` has one constructor per fault kind
(429 with ``Retry-After``, 500, 503, timeout, dropped connection, malformed JSON body, truncated
output, empty content, 401, 404 unknown model).

Every POST is recorded in :attr:`FakeOpenAIServer.requests` with the ``Authorization`` header
redacted, so tests can count attempts and inspect what was sent; ``GET /v1/models`` (which the
provider asks once, before its first request, :mod:`pipeline.llm.openai_models`) is only counted,
in :attr:`FakeOpenAIServer.model_listings`.

Usage::

    with FakeOpenAIServer(faults=[Fault.rate_limited(retry_after="2"), None]) as server:
        provider = OpenAIProvider(base_url=server.base_url)
        ...
        assert server.request_count == 2
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Responder = Callable[[dict[str, Any]], str]
FaultPlan = Sequence["Fault | None"] | Callable[[int, dict[str, Any]], "Fault | None"]

FaultKind = Literal["status", "timeout", "drop", "malformed", "truncated", "empty"]

COMPLETION_PATHS = ("/v1/chat/completions", "/v1/completions")
MODELS_PATH = "/v1/models"
SHUTDOWN_POLL = 0.02
"""Seconds between the serve loop's shutdown checks (stdlib default 0.5 makes every test slow)."""


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour. Build it with the class-method constructors below.

    Attributes:
        kind: ``status`` (an HTTP error reply), ``timeout`` (sleep ``seconds`` then answer),
            ``drop`` (close the socket without a reply), ``malformed`` (200 with a broken JSON
            body), ``truncated`` (``finish_reason: "length"``, half the text), ``empty``
            (empty or null content).
        status: HTTP status for ``status`` faults.
        message / error_type / code: the OpenAI-style ``{"error": {...}}`` body of a status fault.
        headers: extra response headers, e.g. ``(("Retry-After", "2"),)``.
        seconds: how long a ``timeout`` fault stalls (make it longer than the client timeout).
        null_content: for ``empty``, send ``"content": null`` instead of ``""``.
    """

    kind: FaultKind
    status: int = 200
    message: str = ""
    error_type: str = ""
    code: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    null_content: bool = False

    @classmethod
    def http_error(cls, status: int, message: str, *, error_type: str = "server_error",
                   code: str | None = None, retry_after: str | None = None) -> Fault:
        """Any HTTP error reply; ``retry_after`` (seconds or an HTTP-date) becomes ``Retry-After``."""
        headers = (("Retry-After", retry_after),) if retry_after is not None else ()
        return cls("status", status=status, message=message, error_type=error_type, code=code,
                   headers=headers)

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1") -> Fault:
        """429 Too Many Requests with ``Retry-After: <retry_after>``."""
        return cls.http_error(429, "Rate limit reached for requests", error_type="requests",
                              code="rate_limit_exceeded", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """500 Internal Server Error (or another 5xx)."""
        return cls.http_error(status, "The server had an error while processing your request.")

    @classmethod
    def unavailable(cls, retry_after: str | None = None) -> Fault:
        """503 Service Unavailable, optionally with ``Retry-After``."""
        return cls.http_error(503, "The engine is currently overloaded, please try again later",
                              retry_after=retry_after)

    @classmethod
    def timeout(cls, seconds: float = 5.0) -> Fault:
        """Stall ``seconds`` before answering; use more than the client's timeout."""
        return cls("timeout", seconds=seconds)

    @classmethod
    def dropped(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("drop")

    @classmethod
    def malformed(cls) -> Fault:
        """200 with ``Content-Type: application/json`` but a body that is not valid JSON."""
        return cls("malformed")

    @classmethod
    def truncated(cls) -> Fault:
        """A normal reply cut to half its text with ``finish_reason: "length"``."""
        return cls("truncated")

    @classmethod
    def empty(cls, *, null: bool = False) -> Fault:
        """A normal reply whose content is ``""`` (or ``null`` when ``null=True``)."""
        return cls("empty", null_content=null)

    @classmethod
    def unauthorized(cls) -> Fault:
        """401 with OpenAI's ``invalid_api_key`` error body."""
        return cls.http_error(401, "Incorrect API key provided.", error_type="invalid_request_error",
                              code="invalid_api_key")

    @classmethod
    def model_not_found(cls, model: str = "unknown-model") -> Fault:
        """404 with OpenAI's ``model_not_found`` error body."""
        return cls.http_error(404, f"The model `{model}` does not exist or you do not have access to it.",
                              error_type="invalid_request_error", code="model_not_found")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received. ``body`` is the parsed JSON (None for GET or bad JSON)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    received_at: float = field(default_factory=time.monotonic)


def default_responder(request_json: dict[str, Any]) -> str:
    """Echo the last user message (or the prompt); a JSON object when JSON mode is requested."""
    messages = request_json.get("messages") or []
    user = [m.get("content", "") for m in messages if m.get("role") == "user"]
    source = user[-1] if user else str(request_json.get("prompt", ""))
    if (request_json.get("response_format") or {}).get("type") == "json_object":
        return json.dumps({"text": f"echo: {source}"})
    return f"echo: {source}"


def count_tokens(text: str) -> int:
    """A rough token count (whitespace words, at least 1 for non-empty text), for ``usage``."""
    return max(1, len(text.split())) if text else 0


def prompt_text(request_json: dict[str, Any]) -> str:
    """All prompt text of a chat or completion request, joined, for the prompt token count."""
    messages = request_json.get("messages") or []
    if messages:
        return " ".join(str(m.get("content", "")) for m in messages)
    return str(request_json.get("prompt", ""))


class FakeOpenAIServer:
    """An OpenAI-compatible server on ``127.0.0.1:<free port>`` in a background thread.

    Args:
        responder: ``responder(request_json) -> str``, the reply text for a normal request.
        latency: seconds from receiving a completion request to replying (building the reply
            included, so the client sees this latency however slow the responder is).
        faults: the fault plan (see module docstring).
        models: model names served; a request for another model gets a 404 ``model_not_found``.
            ``None`` accepts any model.
        api_key: if set, completion requests without ``Authorization: Bearer <api_key>`` get a 401.
        reject_response_format: answer a request carrying ``response_format`` with a 400 that
            names it, as servers without JSON mode do.
        include_usage: send ``usage`` in replies (some servers omit it).

    Use as a context manager; :attr:`base_url` is the ``.../v1`` URL to give the client.
    """

    def __init__(self, *, responder: Responder = default_responder, latency: float = 0.0,
                 faults: FaultPlan = (), models: Sequence[str] | None = ("fake-model",),
                 api_key: str | None = None, reject_response_format: bool = False,
                 include_usage: bool = True) -> None:
        self.responder = responder
        self.latency = latency
        self.models = tuple(models) if models is not None else None
        self.api_key = api_key
        self.reject_response_format = reject_response_format
        self.include_usage = include_usage
        self._plan = faults
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self.model_listings = 0  # GET /v1/models requests
        self._completions = 0
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        """Bind a free loopback port and serve in a daemon thread."""
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled (timeout/latency) handlers wake up and exit."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- recording -------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many POST requests were received (model listings are in :attr:`model_listings`)."""
        with self._lock:
            return len(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests for one path, e.g. ``/v1/chat/completions``."""
        return [r for r in self.requests if r.path == path]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # -- behaviour -------------------------------------------------------------------------
    def next_fault(self, body: dict[str, Any]) -> tuple[int, Fault | None]:
        """Count one completion request; return its 0-based index and its fault from the plan."""
        with self._lock:
            index = self._completions
            self._completions += 1
        if callable(self._plan):
            return index, self._plan(index, body)
        return index, (self._plan[index] if index < len(self._plan) else None)

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, waking early when the server stops."""
        if seconds > 0:
            self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    """The stdlib server with a listen backlog for many clients connecting at once (the default
    of 5 drops SYNs when 16+ connections open together, and the client's TCP retry adds ~1 s)."""

    request_queue_size = 128


def _error_body(message: str, error_type: str, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _completion_body(path: str, body: dict[str, Any], text: str | None, finish_reason: str,
                     index: int) -> dict[str, Any]:
    """An OpenAI chat.completion or text_completion object for ``text``."""
    model = body.get("model", "")
    usage = {"prompt_tokens": count_tokens(prompt_text(body)), "completion_tokens": count_tokens(text or "")}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    common = {"created": int(time.time()), "model": model, "usage": usage, "system_fingerprint": "fp_fake"}
    if path == "/v1/chat/completions":
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "finish_reason": finish_reason, "logprobs": None}
        return {"id": f"chatcmpl-{index}", "object": "chat.completion", "choices": [choice], **common}
    choice = {"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}
    return {"id": f"cmpl-{index}", "object": "text_completion", "choices": [choice], **common}


class _Handler(BaseHTTPRequestHandler):
    """Per-request handler; the owning :class:`FakeOpenAIServer` is ``self.server.fake``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes; avoid 40 ms ACK delays
    server_version = "FakeOpenAI/1.0"

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log."""

    # -- I/O helpers -----------------------------------------------------------------------
    def _read_json(self) -> tuple[dict[str, Any] | None, bytes]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            return None, raw
        return (parsed if isinstance(parsed, dict) else None), raw

    def _headers_for_record(self) -> dict[str, str]:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if "authorization" in headers:
            headers["authorization"] = "Bearer <redacted>"
        return headers

    def _send(self, status: int, payload: bytes, headers: Sequence[tuple[str, str]] = (),
              content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (e.g. after its timeout) and closed the socket
            self.close_connection = True

    def _send_json(self, status: int, obj: Any, headers: Sequence[tuple[str, str]] = ()) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- routes ----------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        with self.fake._lock:
            self.fake.model_listings += 1
        if self.path.rstrip("/") != MODELS_PATH:
            self._send_json(404, _error_body(f"Unknown path {self.path}", "invalid_request_error", None))
            return
        if self.fake.api_key is not None and self.headers.get("Authorization") != f"Bearer {self.fake.api_key}":
            self._send_json(401, _error_body("Incorrect API key provided.", "invalid_request_error",
                                             "invalid_api_key"))
            return
        models = self.fake.models or ("fake-model",)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
        self._send_json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body, _raw = self._read_json()
        self.fake._record(RecordedRequest("POST", self.path, self._headers_for_record(), body))
        if self.path not in COMPLETION_PATHS:
            self._send_json(404, _error_body(f"Unknown path {self.path}", "invalid_request_error", None))
            return
        if body is None:
            self._send_json(400, _error_body("We could not parse the JSON body of your request.",
                                             "invalid_request_error", None))
            return
        self._answer_completion(body)

    def _answer_completion(self, body: dict[str, Any]) -> None:
        """Apply, in order: the fault plan, auth, model check, response_format check, a normal reply."""
        fake = self.fake
        received = time.monotonic()
        index, fault = fake.next_fault(body)
        if fault is not None and fault.kind in ("status", "drop", "timeout", "malformed"):
            self._answer_fault(fault, body, index)
            return
        if fake.api_key is not None and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            self._answer_fault(Fault.unauthorized(), body, index)
            return
        model = str(body.get("model", ""))
        if fake.models is not None and model not in fake.models:
            self._answer_fault(Fault.model_not_found(model), body, index)
            return
        if fake.reject_response_format and "response_format" in body:
            self._send_json(400, _error_body("response_format is not supported by this server",
                                             "invalid_request_error", None, param="response_format"))
            return
        self._answer_text(body, index, fault, reply_at=received + fake.latency)

    def _answer_text(self, body: dict[str, Any], index: int, fault: Fault | None,
                     reply_at: float | None = None) -> None:
        """A 200 reply with the responder's text, shaped by a ``truncated``/``empty`` fault, sent
        no earlier than ``reply_at`` (``time.monotonic``): the latency includes building the reply."""
        text: str | None = self.fake.responder(body)
        if reply_at is not None:
            self.fake.pause(reply_at - time.monotonic())
        finish_reason = "stop"
        if fault is not None and fault.kind == "truncated":
            text, finish_reason = text[: len(text) // 2], "length"
        elif fault is not None and fault.kind == "empty":
            text = None if fault.null_content else ""
        reply = _completion_body(self.path, body, text, finish_reason, index)
        if not self.fake.include_usage:
            del reply["usage"]
        self._send_json(200, reply)

    def _answer_fault(self, fault: Fault, body: dict[str, Any], index: int) -> None:
        """Send a ``status`` / ``drop`` / ``timeout`` / ``malformed`` fault."""
        if fault.kind == "drop":
            self._drop()
        elif fault.kind == "timeout":
            self.fake.pause(fault.seconds)
            self._answer_text(body, index, None)
        elif fault.kind == "malformed":
            self._send(200, b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"ind')
        else:
            error = _error_body(fault.message or HTTPStatus(fault.status).phrase, fault.error_type, fault.code)
            self._send_json(fault.status, error, fault.headers)
