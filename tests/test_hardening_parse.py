"""Hardening of the parsers: upstream's first template, non-ASCII ids, hostile JSONL records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import fake_options, run_cli

from pipeline.models import SUMMARY_FIELDS
from pipeline.parse import parse_digest
from pipeline.parse.ids import normalize_arxiv_id, safe_filename

HERE = Path(__file__).resolve().parent / "data" / "parse"
FIRST_TEMPLATE = HERE / "abstract-only-details.md"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


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
    result = run_cli("run", FIRST_TEMPLATE, *fake_options(tmp_path))
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


# --------------------------------------------------------------------------- 2: ids in non-ASCII digits

FULL_WIDTH = "２６０１.１６３０２"                                        # NFKC -> 2601.16302
ARABIC_INDIC = "\u0662\u0666\u0660\u0661.\u0661\u0666\u0663\u0660\u0663"  # no compatibility mapping


def _md_entry(url: str, title: str) -> str:
    return (f"### [{title}]({url})\n*X*\n\nTL;DR: 一个摘要。\n\n<details>\n  <summary>Details</summary>\n"
            f"Abstract: We study {title}.\n\n</details>\n\n")


def _md_digest(tmp_path: Path) -> Path:
    return _write(tmp_path, "ids.md", _md_entry(f"https://arxiv.org/abs/{FULL_WIDTH}", "A")
                  + _md_entry(f"https://arxiv.org/abs/{ARABIC_INDIC}", "B")
                  + _md_entry("https://arxiv.org/abs/2601.16304", "C"))


def _jsonl_digest(tmp_path: Path) -> Path:
    records = [{"id": FULL_WIDTH, "title": "A", "summary": "We study A.", "AI": {"tldr": "一个摘要。"}},
               {"id": ARABIC_INDIC, "title": "B", "summary": "We study B.", "AI": {"tldr": "一个摘要。"}},
               {"id": "ａｒＸｉｖ：２６０１.１６３０５ｖ２", "title": "D", "summary": "We study D.", "AI": {"tldr": "一个摘要。"}},
               {"id": "2601.16304", "title": "C", "summary": "We study C.", "AI": {"tldr": "一个摘要。"}}]
    return _write(tmp_path, "ids.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


@pytest.mark.parametrize("raw, expected", [
    (FULL_WIDTH, "2601.16302"), ("ａｒＸｉｖ：２６０１．１６３０２ｖ３", "2601.16302"),
    ("https://arxiv.org/abs/ｈｅｐ－ｔｈ/９９０１００１", "hep-th/9901001")])
def test_full_width_ids_normalize_to_ascii(raw: str, expected: str) -> None:
    assert normalize_arxiv_id(raw) == expected
    assert safe_filename(raw) == expected.replace("/", "_")


@pytest.mark.parametrize("raw", [ARABIC_INDIC, "\u0968\u096c\u0966\u0967.16302", "2601.1630\u0e52"])
def test_other_scripts_digits_are_not_ids(raw: str) -> None:
    with pytest.raises(ValueError, match="not an arXiv identifier"):
        normalize_arxiv_id(raw)


def test_non_ascii_digits_in_markdown_normalized_or_skipped(tmp_path: Path) -> None:
    digest = parse_digest(_md_digest(tmp_path))
    assert [p.arxiv_id for p in digest.papers] == ["2601.16302", "2601.16304"]
    (skipped,) = [w for w in digest.warnings if w.skipped]
    assert skipped.line == 12 and "not an arXiv identifier" in skipped.message


def test_non_ascii_digits_in_jsonl_normalized_or_skipped(tmp_path: Path) -> None:
    digest = parse_digest(_jsonl_digest(tmp_path))
    assert [p.arxiv_id for p in digest.papers] == ["2601.16302", "2601.16305", "2601.16304"]
    assert all(p.arxiv_id.isascii() for p in digest.papers)
    (skipped,) = [w for w in digest.warnings if w.skipped]
    assert skipped.line == 2 and "not an arXiv identifier" in skipped.message


def test_parse_command_exits_1_naming_the_skipped_line(tmp_path: Path) -> None:
    result = run_cli("parse", str(_jsonl_digest(tmp_path)))
    assert result.exit_code == 1, result.output
    assert "line 2" in result.stdout and "3 papers" in result.stdout


def test_run_over_non_ascii_ids_writes_every_other_paper(repo: Path, tmp_path: Path) -> None:
    for digest, written in ((_md_digest(tmp_path), {"2601.16302", "2601.16304"}),
                            (_jsonl_digest(tmp_path), {"2601.16302", "2601.16304", "2601.16305"})):
        result = run_cli("run", digest, *fake_options(tmp_path))
        assert result.exit_code == 1, result.output                # a record could not be read
        out = tmp_path / "out" / digest.stem
        assert {p.stem for p in (out / "papers").glob("*.json")} == written
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
        assert run["records_skipped"] == 1 and run["papers"] == len(written)
        listed = [p["arxiv_id"] for p in json.loads((out / "digest.json").read_text(encoding="utf-8"))["papers"]]
        assert set(listed) == written


# --------------------------------------------------------------------------- 5: deeply nested JSONL records


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_record_is_skipped_with_its_line(tmp_path: Path) -> None:
    lines = ['{"id": "2501.90001", "title": "Fine", "summary": "We study it.", "AI": {"tldr": "一个摘要。"}}',
             '{"id": "2501.90002", "title": "Deep", "x": ' + _nested(100_000) + "}",
             '{"id": "2501.90003", "title": "Deep AI", "AI": {"tldr": "t", "k": ' + '{"a": ' * 5000 + "1"
             + "}" * 5000 + "}}",
             '{"id": "2501.90004", "title": "Nested but readable", "x": ' + _nested(50) + "}"]
    digest = parse_digest(_write(tmp_path, "deep.jsonl", "\n".join(lines) + "\n"))
    assert [p.arxiv_id for p in digest.papers] == ["2501.90001", "2501.90004"]
    skipped = [(w.line, w.message) for w in digest.warnings if w.skipped]
    assert [line for line, _ in skipped] == [2, 3]
    assert all("nested too deeply" in message for _, message in skipped)
    assert digest.papers[1].extra["x"] == _nested(50)
    result = run_cli("parse", str(tmp_path / "deep.jsonl"))
    assert result.exit_code == 1 and "line 2" in result.stdout and "RecursionError" not in result.output
