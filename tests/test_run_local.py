"""The real embedded models (llama.cpp + GGUFs from PyPI) through the whole pipeline, 2 papers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, SEED
from support.requirements import require_module

require_module("llama_cpp")

pytestmark = pytest.mark.slow
CJK = re.compile(r"[\u3400-\u9fff]")


def test_two_papers_with_the_embedded_models(repo: Path, tmp_path: Path) -> None:
    ids = "2601.16272,2601.16302"
    args = ["run", SEED, "--config", CONFIG,
            "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--ids", ids]
    first = run_cli(*args)
    assert first.exit_code in (0, 1), first.output  # 1 = demo-grade model failed a check, still all written
    out = tmp_path / "out" / "seed-digest"
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["papers"] == 2 and run["model_calls"] >= 2 * 6 and run["completion_tokens"] > 0
    for arxiv_id in ids.split(","):
        doc = json.loads((out / "papers" / f"{arxiv_id}.json").read_text(encoding="utf-8"))
        assert doc["provenance"]["stages"]["translate"]["model"] == "gemma3-270m"
        assert doc["summary"]["tldr"] and not CJK.search(doc["summary"]["tldr"])
        issues = {(i["field"], i["check"]) for i in doc["validation"]["issues"]}
        for field, text in doc["translation"].items():
            if not text:  # a translation that failed its checks is left out, never published, but kept
                assert doc["validation"]["status"] == "failed", f"{arxiv_id} {field}"
                assert f"translation.{field}" in doc["validation"]["rejected"], f"{arxiv_id} {field}"
                assert any(i["field"] == f"translation.{field}" and i["severity"] == "error"
                           for i in doc["validation"]["issues"]), f"{arxiv_id} {field}"
                continue
            if CJK.search(text):  # Chinese left over must be reported, never passed silently
                assert doc["validation"]["status"] == "failed"
                assert (f"translation.{field}", "residual_cjk") in issues
    second = run_cli(*args)
    assert second.exit_code == first.exit_code
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["model_calls"] == 0
