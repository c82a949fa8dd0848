"""Resume after ``kill -9``: a run killed mid-way leaves no half-written file, and running again
takes every finished call from the cache and completes the outputs.

The run is a real ``digest-pipeline run`` subprocess (fake provider, 50 ms per call), killed with
SIGKILL once some papers are written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli import default_sigint
from support.paths import REPO, SEED

from pipeline.models import PaperDocument
from support.eval_config import write_config

PAPERS = 30

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def _command(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "run", str(SEED), "--config", str(config),
            "--limit", str(PAPERS), "--concurrency", "2", "--json", *extra]


def _paper_files(papers: Path) -> list[Path]:
    return sorted(papers.glob("*.json")) if papers.is_dir() else []


def _wait_for_papers(process: subprocess.Popen, papers: Path, count: int) -> None:
    """Wait (up to 60 s) until the running ``process`` has written ``count`` paper files."""
    deadline = time.monotonic() + 60
    while len(_paper_files(papers)) < count:
        assert process.poll() is None, f"the run ended before {count} papers: {process.stderr.read()!r}"
        assert time.monotonic() < deadline, f"fewer than {count} papers written within 60 s"
        time.sleep(0.02)


def test_kill_9_mid_run_then_resume_from_the_cache(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "out" / "seed-digest"
    papers = out / "papers"
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    process = subprocess.Popen(_command(config, "--set", "providers.fake.settings.latency=0.05"), cwd=REPO,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_papers(process, papers, 6)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL

    # Nothing half-written: every visible paper file is a whole, valid document; temp files (if a
    # write was cut) are hidden dot-files that never end in .json; the run never finished.
    done = _paper_files(papers)
    assert 6 <= len(done) < PAPERS, "killed mid-run"
    finished: dict[str, dict] = {}
    for path in done:
        document = PaperDocument.model_validate(json.loads(path.read_text(encoding="utf-8")))
        finished[document.arxiv_id] = document.model_dump(mode="json")
    assert not [p for p in papers.iterdir() if not p.name.startswith(".") and p.suffix != ".json"]
    cut = [p.name for p in papers.iterdir() if p not in done]  # a write the kill interrupted, if any
    assert all(name.startswith(".") and name.endswith(".tmp") for name in cut)
    assert not (out / "run.json").exists() and not (out / "digest.json").exists()

    # Run again (no latency needed): finished work comes from the cache.
    second = subprocess.run(_command(config), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    total_calls = summary["model_calls"] + summary["cache_hits"]
    assert summary["papers"] == PAPERS and summary["status_counts"]["failed"] == 0
    assert 0 < summary["model_calls"] < total_calls
    for arxiv_id, before in finished.items():
        again = json.loads((papers / f"{arxiv_id}.json").read_text(encoding="utf-8"))
        prov = again["provenance"]
        assert prov["usage"]["calls"] == 0, f"{arxiv_id} was finished before the kill: no call should run"
        assert prov["cached_usage"]["calls"] == before["provenance"]["usage"]["calls"] > 0
        assert all(v == "hit" for stage in prov["stages"].values() for v in stage["cache"].values())
        assert again["translation"] == before["translation"] and again["summary"] == before["summary"]
    assert summary["cache_hits"] >= sum(d["provenance"]["usage"]["calls"] for d in finished.values())

    # Complete and valid outputs.
    assert len(_paper_files(papers)) == PAPERS
    assert [p.name for p in papers.iterdir() if p.name.startswith(".") and p.name not in cut] == []
    digest = json.loads((out / "digest.json").read_text(encoding="utf-8"))
    assert digest["run"] == summary and summary["not_selected"] == len(digest["papers"]) - PAPERS
    assert len([p for p in digest["papers"] if p["validation"]["status"] != "skipped"]) == PAPERS
    for entry in digest["papers"]:
        PaperDocument.model_validate(entry)
    assert (out / "digest.en.md").read_text(encoding="utf-8").count("### [") == len(digest["papers"])


def test_ctrl_c_stops_starting_papers_then_the_next_run_resumes(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    papers = tmp_path / "out" / "seed-digest" / "papers"
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    # 0.6 s per call, 2 calls a paper, 2 papers at once: the 30 papers would take about 18 s
    process = subprocess.Popen(_command(config, "--set", "providers.fake.settings.latency=0.6"), cwd=REPO,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    try:
        _wait_for_papers(process, papers, 2)
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        stopped_after = time.monotonic() - interrupted
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "run again to resume" in stderr
    assert stopped_after < 6, f"took {stopped_after:.1f} s to stop: papers kept being started"
    written = len(_paper_files(papers))
    assert 2 <= written < PAPERS
    for path in _paper_files(papers):
        PaperDocument.model_validate(json.loads(path.read_text(encoding="utf-8")))

    second = subprocess.run(_command(config), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["papers"] == PAPERS and summary["cache_hits"] >= 2 * written
