"""The exception tree of digest-pipeline.

Every error the pipeline raises on purpose derives from :class:`PipelineError`. Each subclass
carries the context a user needs to act (file, line, paper, provider, status code) and renders
itself as one line through ``str()``; the CLI prints that line and maps the class to an exit code
(:attr:`PipelineError.exit_code`). Lower-level exceptions are chained with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PipelineError(Exception):
    """Root of all pipeline errors. ``exit_code`` is what the CLI exits with (2 = bad input/config)."""

    exit_code: int = 2


class InputError(PipelineError):
    """The digest file cannot be read or is not a digest.

    Attributes:
        path: the input file.
        message: what is wrong, one line.
        line: 1-based line number where the problem is, if known.
        paper_id: the arXiv id of the paper concerned, if any.
    """

    def __init__(self, path: str | Path, message: str, *, line: int | None = None,
                 paper_id: str | None = None) -> None:
        self.path = Path(path)
        self.message = message
        self.line = line
        self.paper_id = paper_id
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        paper = f" (paper {self.paper_id})" if self.paper_id else ""
        return f"{where}{paper}: {self.message}"


class OutputError(InputError):
    """An output would break its contract (e.g. CJK text bound for the English data file); nothing
    is written. Same context as :class:`InputError`: ``path`` is the input file concerned."""


class ConfigError(PipelineError):
    """The configuration or a prompt file is invalid. ``problems`` lists every problem found at once."""

    def __init__(self, source: str | Path, problems: Sequence[str]) -> None:
        self.source = str(source)
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return f"{self.source}: {self.problems[0]}"
        return f"{self.source}: {len(self.problems)} problems: " + "; ".join(self.problems)


class ProviderError(PipelineError):
    """A model provider call failed.

    Attributes:
        provider: provider name (``local``, ``openai``, ``fake``).
        status_code: HTTP status when the provider is an HTTP API, else None.
        retryable: True for transient failures (timeouts, dropped connections, 429, 5xx) that
            the retry policy may try again; False for 400/401/404 and other permanent errors.
    """

    exit_code = 2

    def __init__(self, provider: str, message: str, *, status_code: int | None = None,
                 retryable: bool = False, retry_after: float | None = None) -> None:
        self.provider = provider
        self.message = message
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        code = f" (HTTP {self.status_code})" if self.status_code else ""
        return f"provider {self.provider}{code}: {self.message}"


class RequestTooLargeError(ProviderError):
    """One request does not fit the model's context window (prompt tokens over ``n_ctx``, or an
    API's ``context_length_exceeded``). Not retryable, and not the provider's fault: the stage
    keeps its best answer so far (a re-ask) or that paper fails (a first answer), and the run
    goes on with the other papers."""


class RetryExhaustedError(ProviderError):
    """A transient provider error persisted through every retry. Carries the attempt count."""

    def __init__(self, provider: str, message: str, *, attempts: int,
                 status_code: int | None = None) -> None:
        self.attempts = attempts
        super().__init__(provider, f"{message} (gave up after {attempts} attempts)",
                         status_code=status_code, retryable=False)


class ModelNotAvailableError(PipelineError):
    """A model named in config cannot be loaded (package not installed, file missing)."""

    def __init__(self, model: str, message: str) -> None:
        self.model = model
        self.message = message
        super().__init__(f"model {model}: {message}")


class OutputLockedError(PipelineError):
    """Another live process holds the output folder's lock (see :mod:`pipeline.output.lock`).

    Attributes:
        out_dir: the output folder.
        holder: what the holder wrote in the lock file: ``pid``, ``command``, ``started_at``
            (ISO 8601 UTC), ``host``; empty when it had not written it yet.
    """

    exit_code = 2

    def __init__(self, out_dir: str | Path, holder: dict) -> None:
        self.out_dir = Path(out_dir)
        self.holder = dict(holder)
        super().__init__(str(self))

    def __str__(self) -> str:
        h = self.holder
        who = (f"'{h.get('command', '?')}' (PID {h.get('pid', '?')} on {h.get('host', '?')}, "
               f"started {h.get('started_at', '?')})") if h else "another process that is starting"
        return (f"{self.out_dir}: output folder in use by {who}; wait for it to finish or stop it "
                "(two runs on one output folder would mix their results and pay twice)")


class CacheError(PipelineError):
    """The stage cache cannot be read or written (a full disk, a read-only or corrupt database).

    Attributes:
        directory: the cache folder.
        reason: what the store said, one line.
    """

    exit_code = 2

    def __init__(self, directory: str | Path, reason: str) -> None:
        self.directory = Path(directory)
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return (f"{self.directory}: the stage cache cannot be written ({self.reason}); free space or pass "
                "another --cache-dir, then run again (finished papers are kept)")


class BatchUnansweredError(RetryExhaustedError):
    """A request of a ``run --batch`` that no batch answered: its lines failed or expired every
    time they were sent, or the round limit came first (:mod:`pipeline.batch`). Raised instead
    of a direct call (none is made unless the run allows it), so the runner writes that paper
    ``failed`` with this message (check ``provider``). ``attempts``: times the request was sent."""

    def __init__(self, provider: str, message: str, *, attempts: int) -> None:
        self.attempts = attempts
        ProviderError.__init__(self, provider, message, retryable=False)
