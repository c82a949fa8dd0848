"""Options and read-backs shared by the batch-mode tests: a run of the ``openai`` provider against
the loopback Batch API server (:mod:`support.fake_batch_server`), with the repo config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.fake_batch_server import FakeBatch, FakeBatchServer
from support.paths import CONFIG

POLL = ("--batch-poll", "0.005")


def openai_options(base_url: str, tmp_path: Path) -> tuple[str | Path, ...]:
    """Options of a run with the repo config and the ``openai`` provider at ``base_url``, writing to
    ``tmp_path/out`` with its cache in ``tmp_path/cache``."""
    return ("--config", CONFIG, "--provider", "openai", "--base-url", base_url, "--out", tmp_path / "out",
            "--cache-dir", tmp_path / "cache")


def batch_options(base_url: str, tmp_path: Path) -> tuple[str | Path, ...]:
    """:func:`openai_options` plus ``--batch`` with fast polling."""
    return (*openai_options(base_url, tmp_path), "--batch", *POLL)


def input_keys(server: FakeBatchServer, batch: FakeBatch) -> list[str]:
    """The custom_ids (cache keys) of a batch's input lines, in order."""
    return [line["custom_id"] for line in batch.lines]


def direct_calls(server: FakeBatchServer) -> int:
    """Chat and completion requests the server answered directly (not through a batch)."""
    return len(server.requests_to("POST", "/v1/chat/completions")) + len(server.requests_to("POST", "/v1/completions"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
