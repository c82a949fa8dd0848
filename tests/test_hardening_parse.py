"""Hardening of the parsers: upstream's first template, non-ASCII ids, hostile JSONL records."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.models import SUMMARY_FIELDS
from pipeline.parse import parse_digest

HERE = Path(__file__).resolve().parent / "data" / "parse"
FIRST_TEMPLATE = HERE / "abstract-only-details.md"
runner = CliRunner()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _run_fake(repo: Path, tmp_path: Path, digest: Path, *args: str):
    return runner.invoke(app, ["run", str(digest), "--config", str(repo / "config.yaml"), "--provider", "fake",
                               "--set", f"cache.dir={tmp_path / 'cache'}",
                               "--set", f"run.out_dir={tmp_path / 'out'}", *args])


# --------------------------------------------------------------------------- 1: upstream's first template


def test_first_template_details_block_is_the_abstract() -> None:
    digest = parse_digest(FIRST_TEMPLATE)
    assert [p.arxiv_id for p in digest.papers] == [f"2503.9000{n}" for n in range(1, 6)]
    assert [p.category for p in digest.papers] == ["cs.CV", "cs.CV", "cs.GR", "cs.CL", "cs.CL"]
    assert digest.warnings == []
    graphics = digest.papers[2]
    assert graphics.abstract.startswith("Gaussian splatting renders radiance fields quickly")
    assert "targets real-time rendering: the viewer streams only the splats" in graphics.abstract
    assert graphics.abstract.endswith("city-scale captures of 2.1 billion splats.")
    for paper in digest.papers:
        assert paper.extra == {}, paper.arxiv_id                 # no extra["real-time rendering"], no unlabelled
        assert paper.abstract and "<" not in paper.abstract
        assert all(paper.fields[name] is None for name in SUMMARY_FIELDS)
        assert set(paper.source_problems) == set(SUMMARY_FIELDS)
        assert all(p.startswith("missing") for p in paper.source_problems.values())
    pruning = digest.papers[1]                                    # "Method: ..." inside it stays abstract text
    assert "Method: tokens whose entropy" in pruning.abstract
    assert pruning.abstract.endswith("\nOn Kinetics-400 the rule removes 41% of the tokens with a 0.3 point "
                                     "drop in top-1 accuracy.")


def test_first_template_tags_on_separate_lines_and_text_on_the_tag_line(tmp_path: Path) -> None:
    text = ("### [A](https://arxiv.org/abs/2503.90011)\n*X,Y*\n\n<details>\n  <summary>Abstract</summary>\n"
            "We study A.\nreal-time rendering: fast.\n\n</details>\n\n"
            "### [B](https://arxiv.org/abs/2503.90012)\n*Z*\n\n"
            "<details><summary>Abstract</summary>We study B in one line.</details>\n")
    digest = parse_digest(_write(tmp_path, "d.md", text))
    assert [(p.abstract, p.extra) for p in digest.papers] == [
        ("We study A. real-time rendering: fast.", {}), ("We study B in one line.", {})]
    assert digest.warnings == []


def test_first_template_last_entry_cut_off_is_still_reported(tmp_path: Path) -> None:
    text = "### [A](https://arxiv.org/abs/2503.90011)\n*X*\n\n<details><summary>Abstract</summary>\nWe stu"
    digest = parse_digest(_write(tmp_path, "d.md", text))
    assert digest.papers[0].abstract == "We stu"
    assert any("cut off" in w.message for w in digest.warnings)
    assert "truncated" in digest.papers[0].source_problems["abstract"]


def test_first_template_runs_and_writes_fields_from_the_abstract(repo: Path, tmp_path: Path) -> None:
    result = _run_fake(repo, tmp_path, FIRST_TEMPLATE)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "abstract-only-details"
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "papers").glob("*.json"))]
    assert len(documents) == 5
    assert {d["validation"]["status"] for d in documents} <= {"ok", "repaired"}
    for doc in documents:
        assert doc["abstract"] and doc["extra"] == {}
        assert {f["status"] for f in doc["source"].values()} == {"missing"}
        assert all(doc["translation"][name] for name in SUMMARY_FIELDS)   # written by generate
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["status_counts"]["failed"] == 0
