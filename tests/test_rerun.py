"""``digest-pipeline rerun``: one paper recomputed, its outputs updated in place, nothing else touched.

A real fake-provider run writes the outputs of the first papers of the sample; each test reruns
one paper (through the CLI, or :func:`pipeline.app.execute_rerun` to see its events) and checks
which model calls ran, what was rewritten, and that every other paper file is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, SEED

from pipeline.app import RunOptions, execute_rerun
from pipeline.events import Event
from pipeline.models import PaperDocument
from pipeline.parse import parse_digest
from pipeline.rerun import forced_stages
from support.eval_config import write_config

PAPER = "2601.16302"  # FeTTL: five Chinese fields, so five translate calls
IDS = ["2601.16272", PAPER, "2601.16333", "2601.16378", "2601.16394"]


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, providers={"fake": {}, "fake-broken": {}},
                        extra={"prices": {"fake-model": {"prompt_per_1m": 1.0, "completion_per_1m": 2.0}}})


@pytest.fixture
def out(config: Path, tmp_path: Path) -> Path:
    """A finished run of IDS (in input order) in tmp_path/out/seed-digest."""
    result = run_cli("run", str(SEED), "--config", str(config), "--ids", ",".join(IDS))
    assert result.exit_code == 0, result.output
    return tmp_path / "out" / "seed-digest"


def _rerun(config: Path, *args: str, paper: str = PAPER):
    return run_cli("rerun", paper, "--digest", str(SEED), "--config", str(config), *args)


def _rerun_events(config: Path, from_stage: str | None, paper: str = PAPER):
    seen: list[Event] = []
    result = execute_rerun(paper, SEED, RunOptions(config=config), from_stage, listener=seen.append)
    return result, seen


def test_from_resummarize_executes_only_resummarize_and_touches_nothing_else(config: Path, out: Path) -> None:
    before = _hashes(out)
    old_doc = _json(out / "papers" / f"{PAPER}.json")
    old_run = _json(out / "run.json")
    result, events = _rerun_events(config, "resummarize")

    calls = [e for e in events if e.kind in ("executed", "cache_hit")]
    assert calls and {e.paper_id for e in calls} == {PAPER}, "only that paper's calls"
    assert {(e.kind, e.stage) for e in calls if e.kind == "executed"} == {("executed", "resummarize")}
    translate = [e for e in calls if e.stage == "translate"]
    assert len(translate) == 1 and all(e.kind == "cache_hit" for e in translate)  # the paper's fields: one call
    assert result.model_calls == 1 and result.cache_hits == 1

    after = _hashes(out)
    changed = {name for name in before if before[name] != after.get(name)}
    day_files = {"digest.en.md", "report.html", "feed.xml", "seed-digest_AI_enhanced_English.jsonl"}
    assert {f"papers/{PAPER}.json", "digest.json", "run.json", "report.html"} <= changed  # the report shows the rerun
    assert changed <= {f"papers/{PAPER}.json", "digest.json", "run.json", *day_files}
    assert set(after) == set(before), "no file added (no temp file left), none removed"

    doc = _json(out / "papers" / f"{PAPER}.json")
    PaperDocument.model_validate(doc)
    assert doc["provenance"]["run_id"] != old_doc["provenance"]["run_id"]
    assert doc["provenance"]["stages"]["resummarize"]["cache"] == {"tldr": "miss"}
    assert set(doc["provenance"]["stages"]["translate"]["cache"].values()) == {"hit"}
    assert doc["translation"] == old_doc["translation"] and doc["summary"] == old_doc["summary"]

    digest = _json(out / "digest.json")
    processed = [p for p in digest["papers"] if p["validation"]["status"] != "skipped"]
    assert [p["arxiv_id"] for p in processed] == IDS, "input order kept"
    assert processed[1] == doc
    assert [p["arxiv_id"] for p in digest["papers"]] == [p.arxiv_id for p in parse_digest(SEED).papers]
    run = _json(out / "run.json")
    assert digest["run"] == run
    assert run["run_id"] == old_run["run_id"] and run["papers"] == 5
    assert run["model_calls"] == old_run["model_calls"] + 1 and run["cache_hits"] == old_run["cache_hits"] + 1
    assert run["status_counts"] == old_run["status_counts"]
    # Tokens and cost are recomputed from the documents: the paper now carries only the re-summary.
    resummarize = doc["provenance"]["stages"]["resummarize"]["usage"]
    old_usage = old_doc["provenance"]["usage"]
    assert run["prompt_tokens"] == old_run["prompt_tokens"] - old_usage["prompt_tokens"] + resummarize["prompt_tokens"]
    assert run["tokens_saved_by_cache"]["calls"] == 1
    assert run["cost"] == pytest.approx(sum(p["provenance"]["cost"] for p in processed))
    record = run["reruns"][-1]
    assert record["arxiv_id"] == PAPER and record["from_stage"] == "resummarize"
    assert record["model_calls"] == 1 and record["cache_hits"] == 1 and record["status_after"] == "ok"


def test_from_translate_forces_translate_and_every_later_stage(config: Path, out: Path) -> None:
    assert forced_stages("translate") == {"translate", "generate", "resummarize"}
    assert forced_stages("generate") == {"generate", "resummarize"}
    assert forced_stages("validate") == frozenset() and forced_stages(None) == frozenset()
    result, events = _rerun_events(config, "translate")
    executed = [e.stage for e in events if e.kind == "executed"]
    assert sorted(executed) == ["resummarize", "translate"]
    assert not [e for e in events if e.kind == "cache_hit"]
    assert result.document.validation.status == "ok"


def test_without_from_stage_everything_comes_from_the_cache(config: Path, out: Path) -> None:
    before = _hashes(out)
    result = _rerun(config)
    assert result.exit_code == 0, result.output
    assert "1 model call" not in result.stderr and "0 model call(s), 2 cache hit(s)" in result.stderr
    after = _hashes(out)
    assert {n for n in before if before[n] != after[n]} <= {f"papers/{PAPER}.json", "digest.json", "run.json",
                                                            "report.html"}


def test_from_validate_rechecks_without_building_a_provider(config: Path, out: Path, fake_provider) -> None:
    def no_provider(settings: dict) -> None:
        raise AssertionError("rerun --from-stage validate built a provider")

    fake_provider(name="fake-broken", factory=no_provider)
    paper = out / "papers" / f"{PAPER}.json"
    doc = _json(paper)
    doc["translation"]["tldr"] = "这是一个没有翻译的句子，模型把中文原样返回了。"  # Chinese left in the output
    paper.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    result = _rerun(config, "--provider", "fake-broken", "--from-stage", "validate")
    assert result.exit_code == 1, result.output
    assert "ok -> failed" in result.stderr and "residual_cjk" in result.stderr
    rechecked = _json(paper)
    assert rechecked["validation"]["status"] == "failed"
    assert rechecked["provenance"] == doc["provenance"], "no model call: provenance unchanged"
    run = _json(out / "run.json")
    assert run["status_counts"] == {"ok": 4, "repaired": 0, "failed": 1}
    assert _json(out / "digest.json")["papers"][1]["validation"]["status"] == "failed"

    # A model stage does need the provider.
    broken = _rerun(config, "--provider", "fake-broken", "--from-stage", "resummarize")
    assert broken.exit_code != 0


def test_a_paper_the_run_did_not_select_is_inserted_in_input_order(config: Path, tmp_path: Path) -> None:
    skipped = "2601.16333"
    ids = [i for i in IDS if i != skipped]
    assert run_cli("run", str(SEED), "--config", str(config), "--ids", ",".join(ids)).exit_code == 0
    out = tmp_path / "out" / "seed-digest"
    result = _rerun(config, paper=f"arXiv:{skipped}v2")
    assert result.exit_code == 0, result.output
    assert "skipped -> ok" in result.stderr  # digest.json listed it as not selected
    digest = _json(out / "digest.json")
    assert [p["arxiv_id"] for p in digest["papers"] if p["validation"]["status"] != "skipped"] == IDS
    assert digest["run"]["papers"] == 5 and _json(out / "run.json")["status_counts"]["ok"] == 5
    assert digest["run"]["not_selected"] == len(digest["papers"]) - 5
    assert "### [3]" in (out / "digest.en.md").read_text(encoding="utf-8").split(skipped)[0][-200:]


def test_no_previous_run_is_exit_2_and_writes_nothing(config: Path, tmp_path: Path) -> None:
    result = _rerun(config)
    assert result.exit_code == 2
    assert "no previous run" in result.stderr and "digest-pipeline run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("args, message", [
    (["--from-stage", "detect"], "unknown stage 'detect'"),
    (["--from-stage", "translate"], None),
])
def test_bad_paper_or_stage_is_exit_2_before_any_call(config: Path, out: Path, args: list[str],
                                                       message: str | None) -> None:
    before = _hashes(out)
    paper = PAPER if message else "2601.99999"
    result = _rerun(config, *args, paper=paper)
    assert result.exit_code == 2
    assert (message or "2601.99999") in result.stderr
    assert _hashes(out) == before


def test_json_output(config: Path, out: Path) -> None:
    result = _rerun(config, "--from-stage", "resummarize", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["paper"]["arxiv_id"] == PAPER and data["run"]["reruns"][-1]["from_stage"] == "resummarize"


def test_rerun_with_another_digest_than_the_run_was_made_from_is_refused(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "seed-digest.jsonl"
    other.parent.mkdir()
    common = ["--config", CONFIG, "--provider", "fake", "--out", str(tmp_path / "out"),
              "--cache-dir", str(tmp_path / "cache")]
    first = run_cli("run", SEED, "--limit", "2", *common)
    assert first.exit_code == 0, first.output
    other.write_text('{"id": "2601.16272", "title": "T", "authors": ["A"], "categories": ["cs.CV"], '
                     '"summary": "An abstract.", "abs": "https://arxiv.org/abs/2601.16272", "AI": {}}\n',
                     encoding="utf-8")
    before = (tmp_path / "out" / "seed-digest" / "digest.json").read_bytes()
    result = run_cli("rerun", "2601.16272", "--digest", str(other), *common)
    assert result.exit_code == 2
    assert "seed-digest.md" in result.stderr and "--digest" in result.stderr
    assert (tmp_path / "out" / "seed-digest" / "digest.json").read_bytes() == before


def test_from_validate_on_a_paper_never_processed_is_exit_2_and_writes_nothing(config: Path, out: Path) -> None:
    before = _hashes(out)
    result = _rerun(config, "--from-stage", "validate", paper="2601.16428")  # not among IDS
    assert result.exit_code == 2
    assert "never processed" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _hashes(out) == before
