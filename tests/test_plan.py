"""Plan mode: the requests a set of papers needs, round by round, without sending any.

A round answers the sendable requests "elsewhere" (here: the fake provider's stand-in, written
into the cache with :func:`pipeline.cache.put_reply`, as a batch engine's answers would be), and
the next plan moves on: the re-summaries become sendable once their translations are known.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.eval_config import write_config
from support.paths import SEED

from pipeline.cache import MemoryCacheStore, put_reply
from pipeline.config import load_config
from pipeline.events import EventLog
from pipeline.llm.fake import FakeProvider, template_responder
from pipeline.models import Usage
from pipeline.parse import parse_digest
from pipeline.plan import Plan, Planner, plan_papers
from pipeline.runner import run_context, run_digest, select_papers

IDS = ["2601.16272", "2601.16302"]


def _plan(tmp_path: Path, cache: MemoryCacheStore) -> Plan:
    loaded = load_config(write_config(tmp_path))
    ctx, _ = run_context(loaded, FakeProvider(), cache, EventLog(), planner=Planner())
    return plan_papers(select_papers(parse_digest(SEED), IDS, None), ctx)


def _answer(plan: Plan, cache: MemoryCacheStore, responder=template_responder) -> None:
    """Answers obtained elsewhere go into the cache."""
    for planned in plan.sendable:
        put_reply(cache, planned.cache_key, responder(planned.request), usage=Usage(calls=1))


def _echo(request) -> str:
    """Every field answered with its Chinese source: every field fails its checks."""
    return json.dumps({f["name"]: f["source"] for f in request.variables["fields"]}, ensure_ascii=False)


def test_plans_move_on_a_round_at_a_time_until_nothing_is_left(tmp_path: Path) -> None:
    cache = MemoryCacheStore()
    first = _plan(tmp_path, cache)
    assert {r.stage for r in first.sendable} == {"translate"} and len(first.sendable) == 2  # a paper's fields: 1 call
    assert {(r.stage, r.paper_id) for r in first.estimated} == {("resummarize", i) for i in IDS}
    assert len(cache) == 0  # a plan writes nothing
    _answer(first, cache)
    second = _plan(tmp_path, cache)
    assert [r.stage for r in second.requests] == ["resummarize", "resummarize"]
    assert all(r.sendable for r in second.requests)
    assert second.events.count("cache_hit", "translate") == 2
    _answer(second, cache)
    assert _plan(tmp_path, cache).requests == []


def test_a_cached_answer_that_fails_its_checks_makes_its_reask_sendable(tmp_path: Path) -> None:
    cache = MemoryCacheStore()
    _answer(_plan(tmp_path, cache), cache, responder=_echo)
    plan = _plan(tmp_path, cache)
    reasks = [r for r in plan.sendable if r.stage == "translate"]
    assert len(reasks) == 2  # one re-ask a paper, for all of its failing fields
    assert all(f.get("previous") for r in reasks for f in r.request.variables["fields"])
    assert {r.stage for r in plan.estimated} == {"resummarize"}  # still depends on the re-asks


def test_what_a_plan_estimates_is_what_the_run_then_calls(tmp_path: Path) -> None:
    cache = MemoryCacheStore()
    plan = _plan(tmp_path, cache)
    loaded = load_config(write_config(tmp_path))
    result = run_digest(parse_digest(SEED), loaded, FakeProvider(), cache, out_root=tmp_path / "out", ids=IDS)
    assert result.summary.model_calls == len(plan.requests) == 4
    assert sorted(r.cache_key for r in plan.requests) == sorted(cache.keys())  # exactly the planned requests
