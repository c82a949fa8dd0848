"""Reading one reply that answers several fields (``output: fields``), however the model wrote it."""

from __future__ import annotations

import pytest

from pipeline.llm.reply_fields import labelled_fields, parse_fields

NAMES = ("tldr", "method")


def test_a_json_object_gives_each_field() -> None:
    reply = parse_fields('{"tldr": "A new method.", "method": "It aligns clients."}', "stop", NAMES)
    assert reply.ok and reply.fields == {"tldr": "A new method.", "method": "It aligns clients."}


def test_fences_prose_and_raw_latex_are_repaired() -> None:
    raw = 'Here you go:\n```json\n{"tldr": "Rate $\\mathcal{O}(1/\\sqrt{T})$ holds.", "method": "Uses $\\frac{1}{n}$."}\n```'
    reply = parse_fields(raw, "stop", NAMES)
    assert reply.fields == {"tldr": r"Rate $\mathcal{O}(1/\sqrt{T})$ holds.", "method": r"Uses $\frac{1}{n}$."}
    assert "code fence / surrounding prose" in reply.repairs


def test_a_missing_or_empty_field_is_left_out_for_a_reask() -> None:
    reply = parse_fields('{"tldr": "A new method.", "method": "  ", "extra": "x"}', "stop", NAMES)
    assert reply.ok and reply.fields == {"tldr": "A new method."}


def test_a_reply_cut_mid_json_keeps_the_complete_fields() -> None:
    reply = parse_fields('{"tldr": "A new method.", "method": "It aligns the cli', "length", NAMES)
    assert reply.ok and reply.fields == {"tldr": "A new method."}
    cut = parse_fields('{"tldr": "A new meth', "length", NAMES)
    assert not cut.ok and cut.truncated


def test_labelled_plain_text_is_read() -> None:
    reply = parse_fields("**TL;DR:** A new method.\n\nMethod: It aligns\nthe clients.", "stop", NAMES)
    assert reply.fields == {"tldr": "A new method.", "method": "It aligns the clients."}
    assert labelled_fields("[method] It aligns clients.", NAMES) == {"method": "It aligns clients."}


@pytest.mark.parametrize(("raw", "problem"), [
    ("", "empty reply"),
    ('{"summary": "x"}', "has none of the fields tldr, method"),
    ("Just some prose with no labels.", "labels none of the fields"),
    ('{"tldr": "x", }}', "not valid JSON"),
])
def test_a_reply_with_no_field_is_unusable(raw: str, problem: str) -> None:
    reply = parse_fields(raw, "stop", NAMES)
    assert not reply.ok and problem in reply.problem


def test_one_field_asked_takes_an_unlabelled_text() -> None:
    assert parse_fields("It aligns clients.", "stop", ("method",)).fields == {"method": "It aligns clients."}
