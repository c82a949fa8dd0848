"""Hardening of the writers: file names within limits, no HTML or script in the outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.output.writer import paper_path
from pipeline.parse.ids import MAX_STEM_BYTES, safe_filename

runner = CliRunner()


def _run_fake(repo: Path, tmp_path: Path, digest: Path, *args: str):
    return runner.invoke(app, ["run", str(digest), "--config", str(repo / "config.yaml"), "--provider", "fake",
                               "--set", f"cache.dir={tmp_path / 'cache'}",
                               "--set", f"run.out_dir={tmp_path / 'out'}", *args])


# --------------------------------------------------------------------------- 3: file names within limits

LONG_OLD_STYLE = "a" * 5000 + "/9901001"


def test_long_id_gets_a_short_deterministic_hashed_name() -> None:
    stem = safe_filename(LONG_OLD_STYLE)
    assert len(stem.encode()) == MAX_STEM_BYTES
    assert stem == safe_filename(LONG_OLD_STYLE + "v3") == safe_filename(f"arXiv:{LONG_OLD_STYLE}")
    assert stem.startswith("a" * 100) and stem[-17] == "-" and all(c in "0123456789abcdef" for c in stem[-16:])


def test_long_ids_that_share_a_prefix_get_different_names() -> None:
    names = {safe_filename("a" * 5000 + f"/990100{n}") for n in range(10)}
    names |= {safe_filename("a" * 5000 + "-b/9901001"), safe_filename("a" * 4999 + "/9901001")}
    assert len(names) == 12 and all(len(n) == MAX_STEM_BYTES for n in names)


@pytest.mark.parametrize("arxiv_id", ["2601.16302", "hep-th/9901001", "a" * (MAX_STEM_BYTES - 8) + "/9901001"])
def test_ids_within_the_limit_keep_their_plain_name(arxiv_id: str) -> None:
    assert safe_filename(arxiv_id) == arxiv_id.replace("/", "_")


def test_run_writes_a_5000_character_id_under_a_short_name(repo: Path, tmp_path: Path) -> None:
    records = [{"id": LONG_OLD_STYLE, "title": "Long", "summary": "We study L.", "AI": {"tldr": "一个摘要。"}},
               {"id": "2601.16304", "title": "C", "summary": "We study C.", "AI": {"tldr": "一个摘要。"}}]
    digest = tmp_path / "long.jsonl"
    digest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    result = _run_fake(repo, tmp_path, digest)
    assert result.exit_code in (0, 1) and "error:" not in result.output, result.output[-500:]
    out = tmp_path / "out" / "long"
    files = sorted(p.name for p in (out / "papers").iterdir())
    assert files == sorted([paper_path(out, LONG_OLD_STYLE).name, "2601.16304.json"])
    assert all(len(name.encode()) <= MAX_STEM_BYTES + len(".json") for name in files)
    doc = json.loads(paper_path(out, LONG_OLD_STYLE).read_text(encoding="utf-8"))
    assert doc["arxiv_id"] == LONG_OLD_STYLE                       # the document keeps the whole id
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["papers"] == 2
