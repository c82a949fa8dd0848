"""A paper file deleted from an output folder is not lost by the next partial run (found by a
fresh user: a `--limit 3` run after `rm papers/<id>.json` relabelled that `ok` paper
`not_selected`, dropped its English text from every aggregate and exited 0)."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import fake_options, run_cli
from support.paths import SEED


def _entry(out: Path, arxiv_id: str) -> dict:
    digest = json.loads((out / "digest.json").read_text(encoding="utf-8"))
    return next(p for p in digest["papers"] if p["arxiv_id"] == arxiv_id)


def test_a_partial_run_keeps_a_deleted_paper_from_digest_json_and_names_its_file(tmp_path: Path) -> None:
    assert run_cli("run", SEED, *fake_options(tmp_path), "--limit", "6").exit_code == 0
    out = tmp_path / "out" / "seed-digest"
    victim = sorted((out / "papers").glob("*.json"))[-1]
    arxiv_id = victim.stem
    before = _entry(out, arxiv_id)
    assert before["validation"]["status"] == "ok" and before["translation"]["tldr"]
    victim.unlink()

    result = run_cli("run", SEED, *fake_options(tmp_path), "--limit", "1")

    assert result.exit_code == 1, result.output
    assert f"{victim}: missing" in result.output.replace("\n", "")
    after = _entry(out, arxiv_id)
    assert after["validation"]["status"] == "ok" and after["translation"] == before["translation"]
    english = (out / "seed-digest_AI_enhanced_English.jsonl").read_text(encoding="utf-8")
    assert before["translation"]["tldr"].replace("&", "&amp;")[:40] in english
    # the paper itself is written again by a run that selects it, from the cache
    again = run_cli("run", SEED, *fake_options(tmp_path), "--ids", arxiv_id, "--json")
    assert again.exit_code == 0 and victim.is_file()
    assert json.loads(again.stdout)["model_calls"] == 0
