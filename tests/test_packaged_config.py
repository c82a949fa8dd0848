"""The default config and prompts ship inside the package: ``run`` works from any folder, a
``config.yaml`` there (or ``--config FILE``) is layered over the packaged defaults, and with no
config file outputs go to ``./outputs`` and the cache to ``$XDG_CACHE_HOME/digest-pipeline``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import REPO, SEED

from pipeline.config import load_config
from pipeline.config.defaults import PACKAGED_PROMPTS, merge, user_cache_dir
from pipeline.errors import ConfigError


def _cli(cwd: Path, *args: str, env: dict[str, str] | None = None, pythonpath: Path | None = None):
    """``python -m pipeline.cli ARGS`` in ``cwd`` (a real process: the folder and environment matter)."""
    environment = {**os.environ, "XDG_CACHE_HOME": str(cwd / "xdg"), "OMP_WAIT_POLICY": "passive", **(env or {})}
    if pythonpath is not None:
        environment["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_run_from_any_folder_without_a_config(tmp_path: Path) -> None:
    result = _cli(tmp_path, "run", str(SEED), "--provider", "fake", "--limit", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "outputs" / "seed-digest" / "run.json").is_file()
    assert (tmp_path / "xdg" / "digest-pipeline").is_dir()  # the user cache folder, not the package
    assert not (REPO / "pipeline" / "defaults" / ".cache").exists()


def test_a_config_in_the_current_folder_is_layered_over_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("provider: fake\nrun: {out_dir: mine}\ncache: {dir: c}\n", encoding="utf-8")
    result = _cli(tmp_path, "run", str(SEED), "--limit", "1", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["provider"] == "fake" and summary["models"]["translate"] == "fake-model"  # from the defaults
    assert (tmp_path / "mine" / "seed-digest" / "run.json").is_file() and (tmp_path / "c").is_dir()


def test_relative_paths_of_a_config_file_resolve_against_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    (folder / "prompts").mkdir(parents=True)
    text = (PACKAGED_PROMPTS / "resummarize-chat.yaml").read_text(encoding="utf-8")
    (folder / "prompts" / "my-summary.yaml").write_text(text.replace("name: resummarize-chat", "name: my-summary"),
                                                        encoding="utf-8")
    (folder / "config.yaml").write_text("provider: fake\nprompts_dir: prompts\ncache: {dir: cache}\n"
                                        "stages: {resummarize: {prompt: my-summary}}\n", encoding="utf-8")
    loaded = load_config(folder / "config.yaml")
    assert loaded.cache_dir() == folder / "cache"
    assert loaded.prompt("my-summary").name == "my-summary"            # from the file's prompts folder
    assert loaded.prompt("translate-fields-chat").name == "translate-fields-chat"  # and the packaged ones
    with pytest.raises(ConfigError, match="stage: Extra inputs are not permitted"):
        load_config(folder / "config.yaml", ["stage.x=1"])             # unknown keys are still errors


def test_no_config_means_the_user_cache_folder(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert user_cache_dir() == tmp_path / "x" / "digest-pipeline"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: only absolute paths count
    assert user_cache_dir() == Path.home() / ".cache" / "digest-pipeline"
    loaded = load_config(None)
    assert loaded.config.cache.dir is None and loaded.cache_dir() == user_cache_dir()
    assert loaded.out_root() == Path.cwd() / "outputs"


def test_a_files_variants_replace_the_packaged_ones() -> None:
    merged = merge({"variants": {"a": {}}, "prices": {"m": 1}}, {"variants": {"b": {}}, "prices": {"n": 2}})
    assert merged == {"variants": {"b": {}}, "prices": {"m": 1, "n": 2}}


def test_help_states_the_real_defaults() -> None:
    text = run_cli("run", "--help").stdout
    assert "./config.yaml" in text and "packaged defaults" in text
    assert "XDG_CACHE_HOME" in text and "./outputs" in text


@pytest.mark.slow  # builds the wheel in an isolated environment: pip fetches setuptools from the index
def test_an_installed_package_runs_from_its_own_defaults(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "w"),
                            str(REPO)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "w").glob("digest_pipeline-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for packaged in ("pipeline/defaults/config.yaml", "pipeline/defaults/prompts/translate-chat.yaml",
                     "pipeline/publish/templates/report.html.j2", "pipeline/validate/data/academic_stems.txt"):
        assert packaged in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # the installed files, outside the repo
    work = tmp_path / "work"
    work.mkdir()
    result = _cli(work, "run", str(SEED), "--provider", "fake", "--limit", "1", pythonpath=site)
    assert result.returncode == 0, result.stderr
    assert (work / "outputs" / "seed-digest" / "report.html").is_file()
    assert not any(p.name == ".cache" for p in site.rglob("*"))  # nothing written into the package
