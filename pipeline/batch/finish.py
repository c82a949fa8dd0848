"""The write phase of a batch run: every digest through the normal run path, answers from the cache.

After the rounds (:mod:`pipeline.batch.driver`) every answer a batch gave is in the stage cache,
so :func:`pipeline.runner.run_digest` writes each digest's outputs exactly as a direct run
would, making no model call. A request that still has no answer (its lines failed or expired
``1 + line_retries`` times, or the round limit came first) reaches the provider. By default
the provider is a :class:`BatchOnlyProvider`, which sends nothing and raises
:class:`~pipeline.errors.BatchUnansweredError`: the runner writes that paper ``failed`` (check
``provider``, the message says which request, why, and how to retry), and the paper is never
silently dropped. (After :data:`pipeline.runner.OUTAGE_PAPERS` such papers in a row, at least
one per worker, the runner's outage rule writes the rest ``skipped``, ``provider``, as for a
dead server; run again.) With ``allow_direct`` the configured provider answers them with
direct calls instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from pipeline.cache import CacheStore
from pipeline.config import LoadedConfig
from pipeline.errors import BatchUnansweredError
from pipeline.events import Event, EventLog
from pipeline.llm.base import LLMRequest, LLMResponse, Provider
from pipeline.models import Digest
from pipeline.output.lock import output_lock
from pipeline.output.writer import output_dir
from pipeline.reuse import ReuseIndex
from pipeline.runner import RunResult, run_digest

NOT_SENT = "no batch of this run answered it"


class BatchOnlyProvider(Provider):
    """Stands for ``inner`` in the write phase of a batch run: the same name, model identities
    (so the cache keys match) and worker counts, but :meth:`complete` sends nothing and raises
    BatchUnansweredError with ``reasons[request]`` (why it has no answer) and how to retry."""

    def __init__(self, inner: Provider, reasons: Mapping[LLMRequest, str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_concurrency = inner.max_concurrency
        self.reasons = dict(reasons)

    @property
    def min_workers(self) -> int:
        return self.inner.min_workers

    def describe_model(self, model: str) -> str:
        return self.inner.describe_model(model)

    def complete(self, request: LLMRequest) -> LLMResponse:
        tags = request.tags
        what = f"{tags.get('stage', 'a')} request" + (f" for field {tags['field']}" if tags.get("field") else "")
        reason = self.reasons.get(request, NOT_SENT)
        raise BatchUnansweredError(self.name, f"no answer from the batch engine for the {what}: {reason}; "
                                   "run the same command again to send it in a new batch, or add --allow-direct "
                                   "to make such calls directly", attempts=0)


def write_outputs(digests: list[Digest], loaded: LoadedConfig, provider: Provider, cache: CacheStore, *,
                  out_root: Path, ids: list[str] | None, limit: int | None,
                  listener: Callable[[Event], None] | None = None, reuse: ReuseIndex | None = None) -> list[RunResult]:
    """Run every digest through :func:`pipeline.runner.run_digest`, in the order given (the
    caller holds their output folders' locks), papers of other days reused with ``reuse``;
    returns their results."""
    return [run_digest(digest, loaded, provider, cache, out_root=out_root, ids=ids, limit=limit,
                       concurrency=loaded.config.run.concurrency, events=EventLog(listener=listener), reuse=reuse)
            for digest in digests]


@contextmanager
def output_locks(out_root: Path, digests: list[Digest], command: str) -> Iterator[None]:
    """Hold the output root's lock (its state file) and every digest's output-folder lock, taken
    before any batch is sent, so a run that could not write its outputs sends nothing. Raises
    OutputLockedError (exit 2)."""
    with ExitStack() as stack:
        for folder in [out_root, *dict.fromkeys(output_dir(out_root, d.path) for d in digests)]:
            stack.enter_context(output_lock(folder, command))
        yield
