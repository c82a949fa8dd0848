"""``digest-pipeline publish OUTPUT_DIR... --data-dir DIR``: issue 12's acceptance on a site's data
checkout (an empty folder with --init; a data branch holding the Chinese files and a one-night
file list), idempotence, --dry-run, a read-only DIR, bad output folders, the publish config."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import CONFIG, REPO
from support.requirements import require_module

import pipeline.publish.command  # noqa: F401  (loaded before the read-only test runs as nobody)
from pipeline.errors import ConfigError
from pipeline.publish.settings import PublishConfig, load_publish_config

feedparser = require_module("feedparser", "pip install -e '.[dev]'")
RECORDS = REPO / "tests" / "data" / "publish" / "records.jsonl"


def _run_day(tmp: Path, name: str) -> Path:
    """A fake-provider run of the test records under the dated input ``name``: its output folder."""
    shutil.copy(RECORDS, tmp / name)
    result = run_cli("run", str(tmp / name), "--config", CONFIG, "--provider", "fake",
                                 "--out", str(tmp / "out"), "--cache-dir", str(tmp / "cache"))
    assert result.exit_code in (0, 1), result.output  # 1: some fake translations fail validation
    return tmp / "out" / name.removesuffix(".jsonl").removesuffix(".md")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    """Output folders of two days: 2026-06-16 (from its JSONL) and 2026-06-17."""
    tmp = tmp_path_factory.mktemp("runs")
    return {day: _run_day(tmp, f"{day}_AI_enhanced_Chinese.jsonl") for day in ("2026-06-16", "2026-06-17")}


def publish(*args: str):
    return run_cli("publish", *args, "--config", CONFIG)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: (bytes, modification time in ns)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def data_branch(tmp_path: Path) -> Path:
    """A site's data checkout after the fork's nightly job: Chinese files of three days, a Markdown
    digest, an English file of an earlier publish, and a file list of that night's files only."""
    site = tmp_path / "site"
    (site / "data").mkdir(parents=True)
    (site / "assets").mkdir()
    for day in ("2026-06-15", "2026-06-16", "2026-06-17"):
        shutil.copy(RECORDS, site / "data" / f"{day}_AI_enhanced_Chinese.jsonl")
        (site / "data" / f"{day}.md").write_text(f"# digest of {day}\n", encoding="utf-8")
    earlier = {"id": "2606.00001", "categories": ["cs.AI"], "abs": "https://arxiv.org/abs/2606.00001",
               "authors": ["A B"], "title": "Earlier", "summary": "S.", "AI": {"tldr": "Earlier TL;DR."}}
    (site / "data" / "2026-06-15_AI_enhanced_English.jsonl").write_text(json.dumps(earlier) + "\n", encoding="utf-8")
    (site / "assets" / "file-list.txt").write_text("2026-06-17_AI_enhanced_Chinese.jsonl\n", encoding="utf-8")
    (site / "README.md").write_text("data branch\n", encoding="utf-8")
    return site


def test_empty_folder_needs_init(outputs, tmp_path: Path) -> None:
    site = tmp_path / "empty"
    site.mkdir()
    refused = publish(str(outputs["2026-06-16"]), "--data-dir", str(site))
    assert refused.exit_code == 2 and "no data/ folder" in refused.stderr and "--init" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and list(site.iterdir()) == []
    result = publish(str(outputs["2026-06-16"]), "--data-dir", str(site), "--init")
    assert result.exit_code == 0, result.output
    english = outputs["2026-06-16"] / "2026-06-16_AI_enhanced_English.jsonl"
    assert (site / "data" / english.name).read_bytes() == english.read_bytes()
    assert (site / "assets" / "file-list.txt").read_text(encoding="utf-8") == f"{english.name}\n"
    feed = feedparser.parse(str(site / "feed.xml"))
    assert not feed.bozo and len(feed.entries) == 3
    assert f"added data/{english.name}" in result.stdout and "created data/" in result.stdout


def test_a_data_dir_that_does_not_exist_is_named_as_missing(outputs, tmp_path: Path) -> None:
    """Found by a fresh user: a missing folder was called "not a folder"."""
    missing = tmp_path / "no-site"
    refused = publish(str(outputs["2026-06-16"]), "--data-dir", str(missing), "--init")
    assert refused.exit_code == 2 and f"{missing}: no such folder" in refused.stderr.replace("\n", "")
    assert "create the folder" in refused.stderr and not missing.exists()


def test_data_branch_keeps_the_chinese_data_and_lists_every_file(outputs, data_branch: Path) -> None:
    before = snapshot(data_branch)
    result = publish(str(outputs["2026-06-16"]), str(outputs["2026-06-17"]), "--data-dir", str(data_branch))
    assert result.exit_code == 0, result.output
    after = snapshot(data_branch)
    written = {"data/2026-06-16_AI_enhanced_English.jsonl", "data/2026-06-17_AI_enhanced_English.jsonl",
               "assets/file-list.txt", "feed.xml"}
    assert {k: v for k, v in after.items() if k not in written} == {k: v for k, v in before.items() if k not in written}
    assert set(after) == set(before) | written
    names = sorted(p.name for p in (data_branch / "data").glob("*.jsonl"))
    assert (data_branch / "assets" / "file-list.txt").read_text(encoding="utf-8").splitlines() == names
    assert len(names) == 6 and names[0] == "2026-06-15_AI_enhanced_Chinese.jsonl"
    for day in ("2026-06-16", "2026-06-17"):
        name = f"{day}_AI_enhanced_English.jsonl"
        assert (data_branch / "data" / name).read_bytes() == (outputs[day] / name).read_bytes()
        assert f"added data/{name}" in result.stdout
    assert "replaced assets/file-list.txt" in result.stdout and "added feed.xml" in result.stdout
    feed = feedparser.parse(str(data_branch / "feed.xml"))
    assert [e.updated[:10] for e in feed.entries][-1] == "2026-06-15"  # the earlier English day is in it
    # both new days carry the same papers: each is listed once, under its newest day
    assert {e.updated[:10] for e in feed.entries} == {"2026-06-15", "2026-06-17"} and len(feed.entries) == 4


def test_second_publish_changes_no_byte(outputs, data_branch: Path) -> None:
    args = [str(outputs["2026-06-16"]), "--data-dir", str(data_branch)]
    assert publish(*args).exit_code == 0
    first = snapshot(data_branch)
    again = publish(*args)
    assert again.exit_code == 0 and snapshot(data_branch) == first  # bytes and modification times
    assert "0 file(s) changed, 3 unchanged" in again.stdout and "added" not in again.stdout


def test_a_changed_english_file_is_replaced(outputs, data_branch: Path, tmp_path: Path) -> None:
    copy = tmp_path / "2026-06-16_AI_enhanced_Chinese"
    shutil.copytree(outputs["2026-06-16"], copy)
    assert publish(str(copy), "--data-dir", str(data_branch)).exit_code == 0
    english = copy / "2026-06-16_AI_enhanced_English.jsonl"
    english.write_text(english.read_text(encoding="utf-8").replace('"tldr": "', '"tldr": "Changed: ', 1),
                       encoding="utf-8")
    result = publish(str(copy), "--data-dir", str(data_branch))
    assert result.exit_code == 0 and f"replaced data/{english.name}" in result.stdout
    assert "file-list.txt" not in result.stdout and "replaced feed.xml" in result.stdout
    assert (data_branch / "data" / english.name).read_bytes() == english.read_bytes()


def test_dry_run_writes_nothing(outputs, data_branch: Path, tmp_path: Path) -> None:
    before = snapshot(data_branch)
    result = publish(str(outputs["2026-06-16"]), "--data-dir", str(data_branch), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would add data/2026-06-16_AI_enhanced_English.jsonl" in result.stdout
    assert "would replace assets/file-list.txt" in result.stdout and snapshot(data_branch) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    result = publish(str(outputs["2026-06-16"]), "--data-dir", str(empty), "--init", "--dry-run", "--json")
    assert result.exit_code == 0 and list(empty.iterdir()) == []
    report = json.loads(result.stdout)
    assert report["dry_run"] and report["created"] == ["data", "assets"]
    assert [f["action"] for f in report["files"]] == ["added", "added", "added"]


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run as user nobody while inside (root writes through any permission bits)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_read_only_data_dir_is_one_line_exit_2(outputs) -> None:
    base = Path(tempfile.mkdtemp(prefix="publish-ro-"))  # not under pytest's 0700 tmp: nobody must read it
    try:
        shutil.copytree(outputs["2026-06-16"], base / "run")
        site = base / "site"
        (site / "data").mkdir(parents=True)
        (site / "assets").mkdir()
        for folder in (base, base / "run", site / "data", site / "assets", site):
            folder.chmod(0o555)
        with unprivileged():
            result = publish(str(base / "run"), "--data-dir", str(site))
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and "read-only or no permission" in result.stderr
        assert str(site) in result.stderr and "Traceback" not in result.stderr
        assert sorted(p.name for p in site.rglob("*")) == ["assets", "data"]
    finally:
        for folder in (base, base / "run", base / "site", base / "site" / "data", base / "site" / "assets"):
            if folder.exists():
                folder.chmod(0o755)
        shutil.rmtree(base)


def test_bad_output_folders_are_refused_before_any_write(outputs, data_branch: Path, tmp_path: Path) -> None:
    before = snapshot(data_branch)
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    result = publish(str(outputs["2026-06-16"]), str(nothing), "--data-dir", str(data_branch))
    assert result.exit_code == 2 and "no English data file" in result.stderr and str(nothing) in result.stderr
    undated = _run_day(tmp_path, "seed.jsonl")
    result = publish(str(undated), "--data-dir", str(data_branch))
    assert result.exit_code == 2 and "only lists <date>_AI_enhanced_English.jsonl" in result.stderr
    twin = tmp_path / "twin"
    shutil.copytree(outputs["2026-06-16"], twin)
    result = publish(str(outputs["2026-06-16"]), str(twin), "--data-dir", str(data_branch))
    assert result.exit_code == 2 and "the same day as" in result.stderr
    broken = tmp_path / "broken"
    shutil.copytree(outputs["2026-06-17"], broken)
    english = broken / "2026-06-17_AI_enhanced_English.jsonl"
    english.write_text(english.read_text(encoding="utf-8").replace('"tldr": "', '"tldr": "中文 ', 1), encoding="utf-8")
    result = publish(str(broken), "--data-dir", str(data_branch))
    assert result.exit_code == 2 and f"{english}:1 (paper 2501.90301): refusing to write CJK" in result.stderr
    assert snapshot(data_branch) == before


def test_feed_days_from_set_and_config(outputs, data_branch: Path, tmp_path: Path, monkeypatch) -> None:
    result = publish(str(outputs["2026-06-16"]), str(outputs["2026-06-17"]), "--data-dir", str(data_branch),
                     "--set", "publish.feed_days=1")
    assert result.exit_code == 0, result.output
    feed = feedparser.parse(str(data_branch / "feed.xml"))
    assert {e.updated[:10] for e in feed.entries} == {"2026-06-17"}
    bad = publish(str(outputs["2026-06-16"]), "--data-dir", str(data_branch), "--set", "publish.feed_days=0")
    assert bad.exit_code == 2 and "publish.feed_days" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    config = tmp_path / "config.yaml"
    config.write_text("provider: fake\npublish:\n  feed_days: 3\n", encoding="utf-8")
    assert load_publish_config(config, env={}) == PublishConfig(feed_days=3)
    assert load_publish_config(config, ["publish.feed_days=2"], env={}).feed_days == 2
    assert load_publish_config(config, env={"DIGEST_PIPELINE_SET": "publish.feed_days=5"}).feed_days == 5
    monkeypatch.chdir(tmp_path)  # ./config.yaml is the default file
    assert load_publish_config(None, env={}).feed_days == 3
    config.unlink()
    assert load_publish_config(None, env={}) == PublishConfig(feed_days=7)
    with pytest.raises(ConfigError, match=r"publish.colour: Extra inputs are not permitted \(set by --set publish.colour=red\)"):
        load_publish_config(None, ["publish.colour=red"], env={})
