"""Prompt rendering: every repo prompt renders exactly as Jinja2 renders it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import REPO
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from pipeline.prompts import load_prompt

PLAIN_JINJA = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


@pytest.mark.parametrize("path", sorted((REPO / "prompts").glob("*.yaml")), ids=lambda p: p.stem)
def test_repo_prompts_render_as_jinja2_does(path: Path) -> None:
    prompt = load_prompt(path)
    variables = {name: f"<{name}: 提出 $\\frac{{a}}{{b}}$ 90% {{{{x}}}}\r\n>" for name in prompt.variables}
    variables["attempt"] = 2  # a number, where a prompt uses one
    if "fields" in prompt.variables:  # output: fields prompts loop over the fields asked for
        variables["fields"] = [{key: f"<{key} {n}: 提出 $x$ 90%>" for key in ("label", "source", "previous", "problems")}
                               | {"name": f"field{n}"} for n in range(2)]
    request = prompt.render("m", variables)
    sources = [prompt.template] if prompt.template else [m.content for m in prompt.messages or []]
    rendered = [request.prompt] if prompt.template else [m.content for m in request.messages]
    assert rendered == [PLAIN_JINJA.from_string(s).render(variables) for s in sources]


def test_templates_with_filters_or_blocks_still_render(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\nkind: completion\nvariables: [source, problems]\n"
        "template: \"{% if problems %}Notes: {{ problems | upper }}{% endif %} {{ source }}!\"\n", encoding="utf-8")
    prompt = load_prompt(path)
    assert prompt.render("m", {"source": "一", "problems": "x"}).prompt == "Notes: X 一!"
    assert prompt.render("m", {"source": "二", "problems": ""}).prompt == " 二!"


def test_chat_prompt_renders_constant_and_variable_messages(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\nkind: chat\nvariables: [source]\nmessages:\n"
        "  - {role: system, content: \"Keep \\\\frac{a}{b} and {% raw %}{{ x }}{% endraw %} as written.\"}\n"
        "  - {role: user, content: \"Text: {{ source }}\"}\n", encoding="utf-8")
    prompt = load_prompt(path)
    for source in ("一", "二"):
        request = prompt.render("m", {"source": source})
        assert [m.content for m in request.messages] == [
            "Keep \\frac{a}{b} and {{ x }} as written.", f"Text: {source}"]
