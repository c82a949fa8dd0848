"""Partial runs leave an output folder right: a paper file deleted from it is not lost (found by
a fresh user: a `--limit 3` run after `rm papers/<id>.json` relabelled that `ok` paper
`not_selected`, dropped its English text from every aggregate and exited 0), and a refused
selection makes no folder."""

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


def test_an_unknown_id_makes_no_output_folder(tmp_path: Path) -> None:
    """Found by a fresh user: ``--ids 9999.99999`` was refused (exit 2) but left an empty
    ``OUT/seed-digest/`` behind."""
    result = run_cli("run", SEED, *fake_options(tmp_path), "--ids", "9999.99999")
    assert result.exit_code == 2 and "no paper with id 9999.99999" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
