"""``digest-pipeline validate`` and ``revalidate``: a run and a later validate agree exactly; edits
to a written paper are caught; bad paths and broken files are one line, exit 2, nothing rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, SEED, shared
import yaml

from support.eval_config import write_config

from pipeline.models import PaperDocument
from pipeline.validate.document import revalidate

IDS = "2601.16272,2601.16302,2601.16333,2601.16378"
EDITED = "2601.16302"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The fake provider only, with the repo's prompts (other providers' prompts play no part)."""
    return write_config(tmp_path)


def _run(config: Path, out: Path, digest: Path, *args: str) -> Path:
    result = run_cli("run", str(digest), "--config", str(config), "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    stem = digest.name.removesuffix(".md").removesuffix(".jsonl")
    return out / stem


def _validate(*args: str):
    return run_cli("validate", *args)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_run_then_revalidate_every_document_is_identical(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # the sample, and a day whose every source field is a failure placeholder (all generated)
    folders = [_run(config, out, SEED), _run(config, out, shared("synthetic", "01-all-placeholder-fallbacks.jsonl"))]
    checked = 0
    for folder in folders:
        for path in sorted((folder / "papers").glob("*.json")):
            raw = _load(path)
            document = PaperDocument.model_validate(raw)
            assert revalidate(document).model_dump(mode="json") == raw["validation"], path.name
            checked += 1
    assert checked == 129 + 4 * (len(folders) - 1)
    before = _snapshot(out)
    result = _validate(str(out))  # outputs/, holding each digest's output folder
    assert result.exit_code == 0, result.output
    assert f"validated {checked} paper(s)" in result.stdout and "rewrote 0 file(s)" in result.stdout
    assert _snapshot(out) == before
    run = _load(folders[-1] / "run.json")
    assert "failures_per_check_first_attempt" in run and run["status_counts"]["failed"] == 0
    if len(folders) > 1:
        assert run["status_counts"] == {"ok": 0, "repaired": 4, "failed": 0}


def _edit_translation(folder: Path, arxiv_id: str = EDITED) -> Path:
    path = folder / "papers" / f"{arxiv_id}.json"
    raw = _load(path)
    raw["translation"]["method"] += " 该方法联合学习全局模板和任务模型。"
    path.write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def test_validate_catches_chinese_edited_into_a_translation(config: Path, tmp_path: Path) -> None:
    folder = _run(config, tmp_path / "out", SEED, "--ids", IDS)
    assert _load(folder / "run.json")["status_counts"] == {"ok": 4, "repaired": 0, "failed": 0}
    edited = _edit_translation(folder)
    before = _snapshot(folder)

    result = _validate(str(folder))
    assert result.exit_code == 1, result.output
    doc = _load(edited)
    assert doc["validation"]["status"] == "failed"
    errors = {(i["field"], i["check"]) for i in doc["validation"]["issues"] if i["severity"] == "error"}
    assert errors == {("translation.method", "residual_cjk")}
    assert "该方法" in doc["translation"]["method"]  # only the validation block is rewritten
    after = _snapshot(folder)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {f"papers/{EDITED}.json", "digest.json", "run.json"}
    run = _load(folder / "run.json")
    assert run["status_counts"] == {"ok": 3, "repaired": 0, "failed": 1}
    assert run["failures_per_check"] == {"residual_cjk": 1}
    digest = _load(folder / "digest.json")
    assert digest["run"]["status_counts"] == run["status_counts"]
    statuses = {p["arxiv_id"]: p["validation"]["status"] for p in digest["papers"]
                if p["validation"]["status"] != "skipped"}  # the rest: not selected by the --limit run
    assert statuses == {"2601.16272": "ok", EDITED: "failed", "2601.16333": "ok", "2601.16378": "ok"}
    assert [i for i in statuses if i in IDS.split(",")] == IDS.split(",")  # input order kept
    assert "residual_cjk" in result.stdout and "0 -> 1" in result.stdout
    assert f"{EDITED} ok -> failed (residual_cjk)" in result.stdout

    again = _validate(str(folder))  # idempotent: nothing left to rewrite, still failed
    assert again.exit_code == 1 and "rewrote 0 file(s)" in again.stdout
    assert _snapshot(folder) == after


def test_dry_run_and_json_report_without_rewriting(config: Path, tmp_path: Path) -> None:
    folder = _run(config, tmp_path / "out", SEED, "--ids", IDS)
    _edit_translation(folder)
    before = _snapshot(folder)
    result = _validate(str(folder), "--dry-run", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] is True and report["rewritten"] == []
    assert report["papers"] == 4
    assert report["status_counts"] == {"before": {"ok": 4, "repaired": 0, "failed": 0},
                                       "after": {"ok": 3, "repaired": 0, "failed": 1}}
    assert report["failures_per_check"] == {"before": {}, "after": {"residual_cjk": 1}}
    assert report["failed"] == [EDITED]
    assert report["changed"][0]["arxiv_id"] == EDITED and report["changed"][0]["errors"] == ["residual_cjk"]
    assert _snapshot(folder) == before


def test_single_paper_file_updates_the_aggregates(config: Path, tmp_path: Path) -> None:
    folder = _run(config, tmp_path / "out", SEED, "--ids", IDS)
    edited = _edit_translation(folder)
    result = _validate(str(edited))
    assert result.exit_code == 1, result.output
    assert "validated 1 paper(s)" in result.stdout
    assert _load(edited)["validation"]["status"] == "failed"
    assert _load(folder / "run.json")["status_counts"] == {"ok": 3, "repaired": 0, "failed": 1}
    other = _validate(str(folder / "papers" / "2601.16272.json"))
    assert other.exit_code == 0, other.output


def test_garbage_json_is_one_line_exit_2_and_nothing_rewritten(config: Path, tmp_path: Path) -> None:
    folder = _run(config, tmp_path / "out", SEED, "--ids", IDS)
    _edit_translation(folder)  # would be rewritten, were the folder valid
    garbage = folder / "papers" / "2601.99999.json"
    garbage.write_text('{"arxiv_id": "2601.99999", "title": ', encoding="utf-8")
    before = _snapshot(folder.parent) | {"garbage": garbage.read_bytes()}

    for target in (folder, garbage):
        result = _validate(str(target))
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert "2601.99999.json" in lines[0] and "not valid JSON" in lines[0]
    assert _snapshot(folder.parent) | {"garbage": garbage.read_bytes()} == before


def test_every_broken_paper_file_is_named_at_once(config: Path, tmp_path: Path) -> None:
    folder = _run(config, tmp_path / "out", SEED, "--ids", IDS)
    names = sorted(p.name for p in (folder / "papers").glob("*.json"))
    (folder / "papers" / names[0]).write_text("{", encoding="utf-8")
    (folder / "papers" / names[1]).write_text("[]", encoding="utf-8")
    before = _snapshot(folder.parent)
    result = _validate(str(folder))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert names[0] in lines[0] and "not valid JSON" in lines[0]
    assert "1 more paper file(s) cannot be checked" in lines[0] and names[1] in lines[0]
    assert _snapshot(folder.parent) == before  # nothing rewritten


def test_json_that_is_not_a_paper_document_names_what_is_wrong(tmp_path: Path) -> None:
    wrong = tmp_path / "paper.json"
    wrong.write_text(json.dumps({"arxiv_id": "2601.00001", "title": "x"}), encoding="utf-8")
    result = _validate(str(wrong))
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "paper.json" in line and "not a valid paper document" in line
    assert "url" in line  # the first missing field is named
    assert json.loads(wrong.read_text(encoding="utf-8")) == {"arxiv_id": "2601.00001", "title": "x"}


@pytest.mark.parametrize("make", ["missing", "empty-folder"])
def test_a_path_that_is_not_an_output_is_exit_2(tmp_path: Path, make: str) -> None:
    target = tmp_path / "nope"
    if make == "empty-folder":
        target.mkdir()
    result = _validate(str(target))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_summary_table_shows_failures_before_and_after_repair(config: Path, tmp_path: Path,
                                                                  fake_provider) -> None:
    from support.responders import with_fields

    def echo_once(request):  # the method echoed on the first answer, translated on the re-ask
        first = request.output_fields is None or not any(f.get("previous") for f in request.variables["fields"])
        return with_fields(request, lambda paper, field, source: source if (paper, field) == (EDITED, "method")
                           and first else None)

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["provider"] = fake_provider(echo_once)  # with the fake provider's default stages
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_cli("run", str(SEED), "--config", str(config), "--out", str(tmp_path / "out"),
                                 "--ids", EDITED)
    assert result.exit_code == 0, result.output
    assert "first -> final" in result.stderr
    assert "residual_cjk" in result.stderr and "1 -> 0" in result.stderr
    run = _load(tmp_path / "out" / "seed-digest" / "run.json")
    assert run["status_counts"]["repaired"] == 1
    assert run["failures_per_check_first_attempt"]["residual_cjk"] == 1 and run["failures_per_check"] == {}


def test_validate_accepts_the_output_of_an_empty_day(repo: Path, tmp_path: Path) -> None:
    empty = shared("synthetic", "05-empty-day-toc-only.md")
    ran = run_cli("run", str(empty), "--config", CONFIG, "--provider", "fake",
                              "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"))
    assert ran.exit_code == 0, ran.output
    checked = run_cli("validate", str(tmp_path / "out" / "05-empty-day-toc-only"))
    assert checked.exit_code == 0, checked.output
    assert "validated 0 paper(s)" in checked.stdout + checked.stderr
