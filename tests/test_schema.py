"""The JSON Schema kept in the repo matches the models, and written documents satisfy it."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import run_cli

from pipeline.models import PaperDocument


def test_repo_schema_is_generated_from_the_models(repo: Path) -> None:
    kept = json.loads((repo / "schema" / "paper.schema.json").read_text(encoding="utf-8"))
    assert kept == PaperDocument.model_json_schema(), "run: digest-pipeline schema -o schema/paper.schema.json"


def test_schema_command_writes_the_schema(tmp_path: Path) -> None:
    result = run_cli("schema", "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 0
    schema = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert schema["title"] == "PaperDocument"
    for key in ("arxiv_id", "translation", "summary", "validation", "provenance"):
        assert key in schema["required"]
