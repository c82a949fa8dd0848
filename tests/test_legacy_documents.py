"""Outputs written before the typed origins and skip reasons (schema 1.1) still validate, keep
their statuses and carry over into later runs (``tests/data/legacy-1.1/README.md``).

Their texts are the fake provider's replies of the time, which the faithfulness checks added
later (issue 14) rightly reject; the status tests compare under the checks of their time
(:func:`checks_of_schema_1_1`), so they test the upgrade, not the validators' growth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.cli import fake_options, run_cli

from pipeline.validate import checks, suites
from pipeline.validate.command import load_document
from pipeline.validate.document import revalidate

LEGACY = Path(__file__).parent / "data" / "legacy-1.1"
FOLDERS = ["out-flaky/three", "out-unusable/three", "out-bad/three", "out-budget/three", "out-generated/fallbacks"]


LATER_CHECKS = {"invented_term", "off_context_word", "invented_figure", "unsupported_claim", "omission",
                "substituted_term"}
"""The faithfulness checks of issue 14, added after schema 1.1 (as was ``repetition``'s rule
for a sentence written twice, which the fake's padding of the time did)."""


@pytest.fixture
def checks_of_schema_1_1(monkeypatch: pytest.MonkeyPatch):
    """The check suites without :data:`LATER_CHECKS` and the repeated-sentence rule (memos
    cleared before and after)."""
    memos = (suites._memo_translation, suites._memo_generated, suites._memo_summary)
    for memo in memos:
        memo.cache_clear()
    for kind, suite in list(suites.SUITES.items()):
        monkeypatch.setitem(suites.SUITES, kind, tuple(c for c in suite if c[0] not in LATER_CHECKS))
    monkeypatch.setattr(checks, "REPEATED_SENTENCE_WORDS", 10**6)
    yield
    for memo in memos:
        memo.cache_clear()


def test_the_later_checks_are_in_force_and_reject_the_legacy_fake_replies() -> None:
    assert LATER_CHECKS <= set(suites.CHECK_NAMES)
    now = [(d.validation.status, revalidate(d)) for f in FOLDERS for d in _documents(f).values()]
    assert [after for before, after in now if before in ("ok", "repaired") and after.status == "failed"
            and {i.check for i in after.issues if i.severity == "error"} & LATER_CHECKS]


def _documents(folder: str) -> dict[str, object]:
    return {p.stem: load_document(p)[1] for p in sorted((LEGACY / folder / "papers").glob("*.json"))}


@pytest.mark.parametrize("folder", FOLDERS)
def test_legacy_documents_keep_their_status_under_revalidation(folder: str, checks_of_schema_1_1) -> None:
    for name, document in _documents(folder).items():
        assert document.schema_version == "1.1"
        assert revalidate(document).model_dump(exclude={"skip_reason"}) == \
            document.validation.model_dump(exclude={"skip_reason"}), name


@pytest.mark.parametrize(("folder", "path", "origin"), [
    ("out-flaky/three", "translation.tldr", "translated"),
    ("out-flaky/three", "summary.tldr", "generated"),
    ("out-unusable/three", "translation.method", "unusable"),
    ("out-bad/three", "summary.tldr", "fallback"),
    ("out-generated/fallbacks", "translation.result", "generated"),
])
def test_origins_are_derived_from_the_notes_of_a_legacy_document(folder: str, path: str, origin: str) -> None:
    for document in _documents(folder).values():
        assert document.provenance.origins[path] == origin


def test_a_legacy_skipped_document_gets_its_skip_reason() -> None:
    reasons = {d.validation.status: d.validation.skip_reason for d in _documents("out-budget/three").values()}
    assert reasons == {"ok": None, "skipped": "budget"}


def test_validate_leaves_a_legacy_folder_as_it_was(tmp_path: Path, checks_of_schema_1_1) -> None:
    shutil.copytree(LEGACY / "out-bad", tmp_path / "out-bad")
    before = {p: p.read_bytes() for p in (tmp_path / "out-bad").rglob("*.json")}
    result = run_cli("validate", tmp_path / "out-bad", "--json")
    assert result.exit_code == 1, result.output  # the papers failed then and still do
    assert json.loads(result.stdout)["status_counts"]["after"] == {"ok": 0, "repaired": 0, "failed": 3}
    assert {p: p.read_bytes() for p in before} == before


def test_a_later_run_carries_legacy_documents_over(tmp_path: Path) -> None:
    shutil.copytree(LEGACY / "out-budget", tmp_path / "out")
    done = next(n for n, d in _documents("out-budget/three").items() if d.validation.status == "ok")
    skipped = sorted(n for n, d in _documents("out-budget/three").items() if d.validation.status == "skipped")
    result = run_cli("run", LEGACY / "three.md", *fake_options(tmp_path), "--ids", skipped[0], "--json")
    assert result.exit_code == 0, result.output
    entries = {e["arxiv_id"]: e for e in json.loads((tmp_path / "out" / "three" / "digest.json").read_text())["papers"]}
    legacy = json.loads((LEGACY / "out-budget" / "three" / "papers" / f"{done}.json").read_text())
    assert entries[done]["schema_version"] == "1.1" and entries[done]["translation"] == legacy["translation"]
    assert entries[skipped[0]]["validation"]["status"] == "ok" and entries[skipped[0]]["schema_version"] == "1.2"
    assert entries[skipped[1]]["validation"]["skip_reason"] == "budget"
    assert json.loads(result.stdout)["carried_over"] == 2
