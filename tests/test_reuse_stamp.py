"""Reused papers keep their earlier validation only when re-checking could not change it: the
paper file is byte for byte what was recorded, the checks are the same code and the title is the
same (:mod:`pipeline.reuse`, the index's stamps). Otherwise they are checked again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from support.cli import fake_options, run_cli
from support.days import write_days

import pipeline.reuse as reuse
from pipeline.validate.document import revalidate

NIGHTS = {"2026-06-16": (0, 6), "2026-06-17": (2, 8)}
"""Two nights of the sample's papers; the second repeats 4 papers of the first."""
FIRST = "2026-06-16_AI_enhanced_Chinese"
SECOND = "2026-06-17_AI_enhanced_Chinese"
REPEATED = "2601.16394"  # the sample's 5th paper: on both nights


@pytest.fixture
def rechecked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The arXiv ids of the reused papers whose validation was recomputed."""
    seen: list[str] = []

    def counting(document):
        seen.append(document.arxiv_id)
        return revalidate(document)

    monkeypatch.setattr(reuse, "revalidate", counting)
    return seen


def _nights(tmp_path: Path) -> tuple[Path, Path]:
    first, second = write_days(tmp_path / "data", NIGHTS)
    assert run_cli("run", first, *fake_options(tmp_path)).exit_code == 0
    return first, second


def _second_night(tmp_path: Path, second: Path) -> dict:
    result = run_cli("run", second, *fake_options(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _paper(tmp_path: Path, day: str, arxiv_id: str) -> dict:
    return json.loads((tmp_path / "out" / day / "papers" / f"{arxiv_id}.json").read_text(encoding="utf-8"))


def test_an_unchanged_earlier_paper_keeps_its_validation_without_checking_again(tmp_path, rechecked) -> None:
    _, second = _nights(tmp_path)
    assert _second_night(tmp_path, second)["reused"] == 4
    assert rechecked == []
    earlier, now = _paper(tmp_path, FIRST, REPEATED), _paper(tmp_path, SECOND, REPEATED)
    assert now["validation"] == earlier["validation"]
    assert now["provenance"]["reused_from"]["day"] == FIRST


def test_the_carried_validation_is_what_checking_again_gives(tmp_path, monkeypatch) -> None:
    _, second = _nights(tmp_path)
    monkeypatch.setattr(reuse, "checks_fingerprint", lambda: "other checks")  # forces re-checking
    _second_night(tmp_path, second)
    rechecked = _paper(tmp_path, SECOND, REPEATED)["validation"]
    assert rechecked == _paper(tmp_path, FIRST, REPEATED)["validation"]


def test_changed_checks_check_every_reused_paper_again(tmp_path, rechecked, monkeypatch) -> None:
    _, second = _nights(tmp_path)
    monkeypatch.setattr(reuse, "checks_fingerprint", lambda: "checks of a newer release")
    assert _second_night(tmp_path, second)["reused"] == 4
    assert len(rechecked) == 4 and REPEATED in rechecked


def test_an_earlier_file_edited_by_hand_is_checked_again(tmp_path, rechecked) -> None:
    _, second = _nights(tmp_path)
    path = tmp_path / "out" / FIRST / "papers" / f"{REPEATED}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["translation"]["tldr"] = "本文提出了一种新的方法。"  # Chinese text, untranslated
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    summary = _second_night(tmp_path, second)
    assert rechecked == [REPEATED]
    assert summary["reused"] == 3  # it fails the checks now: translated anew
    assert _paper(tmp_path, SECOND, REPEATED)["provenance"].get("reused_from") is None


def test_a_changed_title_is_checked_again(tmp_path, rechecked) -> None:
    first, second = write_days(tmp_path / "data", NIGHTS)
    assert run_cli("run", first, *fake_options(tmp_path)).exit_code == 0
    lines = [json.loads(line) for line in second.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        if line["id"] == REPEATED:
            line["title"] += " (v2)"
    second.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert _second_night(tmp_path, second)["reused"] == 4
    assert rechecked == [REPEATED]


def test_an_index_written_before_stamps_gains_them_and_its_papers_are_checked_again(tmp_path, rechecked) -> None:
    _, second = _nights(tmp_path)
    index = tmp_path / "out" / reuse.INDEX_NAME
    with sqlite3.connect(index) as db:  # the table as an earlier release made it
        db.execute("CREATE TABLE old AS SELECT key, folder, digest, run_id FROM papers")
        db.execute("DROP TABLE papers")
        db.execute("ALTER TABLE old RENAME TO papers")
    assert _second_night(tmp_path, second)["reused"] == 4
    assert len(rechecked) == 4
    with sqlite3.connect(index) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(papers)")}
        stamped = db.execute("SELECT COUNT(*) FROM papers WHERE stamp IS NOT NULL").fetchone()[0]
    assert "stamp" in columns and stamped == 2  # the second night's 2 papers of its own
