"""The content checks against the labelled faithfulness set (``tests/data/faithfulness/``).

Each English field of the set is checked the way the pipeline checks it -- translations with
:func:`check_translation` plus the content checks with the default local translate prompt's
text, re-summaries with :func:`check_summary` plus the content checks -- and counted as flagged
when at least one *error* comes back. The table (printed with ``-s``, also on failure) gives,
for both halves, the false-positive rate on faithful fields and the recall on unfaithful ones,
overall and per fault kind, for the content checks alone and for all checks. The targets are
asserted on the frozen half, which was set aside (seeded, stratified by label and fault kind)
before any check existed and never used for tuning.

Run ``.venv/bin/python tests/test_faithfulness.py tune`` to list every item of a half with
the errors it got (for tuning: only ever on the tune half).
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import pytest
from support.paths import REPO

sys.path.insert(0, str(REPO))

from pipeline.prompts import load_prompt  # noqa: E402
from pipeline.validate import check_summary, check_translation  # noqa: E402
from pipeline.validate.content import content_issues  # noqa: E402
from pipeline.validate.offtopic import prompt_text  # noqa: E402

SET = REPO / "tests" / "data" / "faithfulness" / "labelled.json"
TARGET_FP = 0.05
TARGET_RECALL = 0.80
TARGET_KIND_RECALL = 0.50


@lru_cache(maxsize=1)
def labelled() -> dict:
    return json.loads(SET.read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def _prompt(name: str | None) -> str | None:
    return prompt_text(load_prompt(REPO / "prompts" / f"{name}.yaml")) if name else None


def item_errors(item: dict) -> tuple[list, list]:
    """(content-check errors, all errors) of one labelled item."""
    doc = labelled()
    paper = doc["papers"][item["paper"]]
    is_summary = item["field"] == "summary.tldr"
    prompt = _prompt(doc["prompts"]["summary" if is_summary else "translation"])
    content = content_issues(item["field"], item["english"], source=item["source"],
                             abstract=paper["abstract"], title=paper["title"], fewshot=prompt)
    if is_summary:
        base = check_summary(item["english"], paper["abstract"], None)
    else:
        base = check_translation(item["field"], item["english"], item["source"])
    content_errors = [i for i in content if i.severity == "error"]
    return content_errors, content_errors + [i for i in base if i.severity == "error"]


def scores(half: str) -> dict:
    """{"content"|"all": {"fp": (flagged, n), "recall": (flagged, n), "kinds": {kind: (k, n)}}}."""
    out = {}
    for which in (0, 1):
        fp, rec, kinds = [0, 0], [0, 0], defaultdict(lambda: [0, 0])
        for item in labelled()["items"]:
            if item["half"] != half:
                continue
            flagged = bool(item_errors(item)[which])
            if item["label"] == "faithful":
                fp[0] += flagged
                fp[1] += 1
            else:
                rec[0] += flagged
                rec[1] += 1
                kinds[item["fault"]][0] += flagged
                kinds[item["fault"]][1] += 1
        out["content" if which == 0 else "all"] = {"fp": tuple(fp), "recall": tuple(rec),
                                                   "kinds": {k: tuple(v) for k, v in sorted(kinds.items())}}
    return out


def _pct(pair: tuple[int, int]) -> str:
    k, n = pair
    return f"{k}/{n} = {k / n:.0%}" if n else "-"


def table(halves: tuple[str, ...] = ("tune", "frozen")) -> str:
    """The figures of ``halves``, as text."""
    rows = []
    for half in halves:
        result = scores(half)
        rows.append(f"{half} half                      content checks     all checks (error severity)")
        rows.append(f"  faithful with an error      {_pct(result['content']['fp']):<18} {_pct(result['all']['fp'])}")
        rows.append(f"  unfaithful with an error    {_pct(result['content']['recall']):<18} {_pct(result['all']['recall'])}")
        for kind in result["all"]["kinds"]:
            rows.append(f"    {kind:<25} {_pct(result['content']['kinds'][kind]):<18} "
                        f"{_pct(result['all']['kinds'][kind])}")
    return "\n".join(rows)


def test_split_is_the_recorded_seeded_draw() -> None:
    """The frozen half is exactly what the recorded seed draws (nobody moved an item)."""
    doc = labelled()
    groups = defaultdict(list)
    for item in doc["items"]:
        groups[(item["label"], item["fault"] or "")].append(item["id"])
    rng, frozen = random.Random(doc["split"]["seed"]), set()
    for key in sorted(groups):
        ids = sorted(groups[key])
        rng.shuffle(ids)
        frozen.update(ids[: (len(ids) + 1) // 2])
    assert {i["id"] for i in doc["items"] if i["half"] == "frozen"} == frozen


def test_set_meets_the_issue_size() -> None:
    items = labelled()["items"]
    faithful = [i for i in items if i["label"] == "faithful"]
    unfaithful = [i for i in items if i["label"] == "unfaithful"]
    assert len(items) >= 120 and len(faithful) >= 50 and len(unfaithful) >= 70
    assert len({i["paper"] for i in faithful if i["origin"] == "reference"}) >= 10
    assert {i["origin"] for i in unfaithful} == {"model", "planted"}
    assert {"invented_term", "hallucinated_claim", "changed_number", "wrong_domain_word",
            "out_of_context_entity", "omission"} <= {i["fault"] for i in unfaithful}


def test_frozen_half_false_positive_target() -> None:
    """At most 5% of the frozen half's faithful fields get an error (met: 1/39)."""
    report = table()
    print("\n" + report)
    fp_k, fp_n = scores("frozen")["all"]["fp"]
    assert fp_k <= TARGET_FP * fp_n, report


@pytest.mark.xfail(strict=True, reason=(
    "issue 14 recall targets not met on the frozen half when the thresholds were fixed on the "
    "tune half: 44/68 = 65% of unfaithful fields flagged (target 80%); omission 5/13, "
    "wrong_domain_word 4/10 and hallucinated_claim 8/17 (target 50% each); tune half 53/65 = 82%"))
def test_frozen_half_recall_targets() -> None:
    result = scores("frozen")["all"]
    report = table()
    rec_k, rec_n = result["recall"]
    assert rec_k >= TARGET_RECALL * rec_n, report
    for kind, (k, n) in result["kinds"].items():
        assert k >= TARGET_KIND_RECALL * n, (kind, report)


def test_frozen_half_recall_does_not_regress() -> None:
    """Guard for the figures measured when the thresholds were fixed (45/68 flagged; every
    kind but omission and wrong_domain_word at 50% or more), less the one hallucinated_claim
    item that closing up hyphenated compounds cost (44/68; "multi-modal" for the abstract's
    "multimodal" is no longer two unsupported words -- a false positive of the embedded models'
    own output, found on the sample, not on this set)."""
    result = scores("frozen")["all"]
    rec_k, rec_n = result["recall"]
    assert rec_k >= 44, table()
    weak = {kind for kind, (k, n) in result["kinds"].items() if k < TARGET_KIND_RECALL * n}
    assert weak <= {"omission", "wrong_domain_word", "hallucinated_claim"}, table()


def _details(half: str) -> None:
    for item in labelled()["items"]:
        if item["half"] != half:
            continue
        content, everything = item_errors(item)
        mark = "OK " if bool(everything) == (item["label"] == "unfaithful") else "BAD"
        print(f"{mark} {item['id']} {item['label'][:4]} {str(item['fault'] or ''):<22} "
              f"{item['origin'][:5]:<5} {item['paper']} {item['field']}")
        for issue in everything:
            print(f"      {issue.check}: {issue.message[:150]}")
    print(table((half,)))


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("tune", "frozen"):
        raise SystemExit("usage: tests/test_faithfulness.py tune|frozen")
    _details(sys.argv[1])
