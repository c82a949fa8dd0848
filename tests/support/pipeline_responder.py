"""A :class:`~support.fake_openai_server.FakeOpenAIServer` responder that answers the pipeline's
own prompts the way the ``fake`` provider does, so a whole run against the loopback server
passes validation (no re-asks inflate the call count).

The server only sees rendered messages, so the template variables are found again by content,
whatever the prompt's wording: a message holding a paper's abstract is a summary request
(``resummarize``/``generate``: the abstract's first sentence), one holding a digest field's text
is a translation of that field. :func:`pipeline.llm.fake.template_responder` then writes the
reply, as JSON under the key the prompt shows (``{"translation": ...}``) when it shows one.

:func:`json_prompt_files` gives JSON-output versions of the repo's chat prompts, for tests of the
JSON reply path whatever the repo's prompts declare.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from support.paths import REPO, SEED

from pipeline.llm.base import LLMRequest
from pipeline.llm.fake import template_responder
from pipeline.models import FIELD_TITLES
from pipeline.parse import parse_digest
JSON_KEYS = {"translate-chat": "translation", "translate-chat-repair": "translation", "resummarize-chat": "tldr",
             "generate-chat": "text"}
"""The repo's chat prompts and the JSON key each answers under in :func:`json_prompt_files`."""
_JSON_KEY = re.compile(r'\{\s*"(\w+)"\s*:')
_FIELD_BLOCK = re.compile(r"^\[(\w+)\] ([^\n:]+):\n(.+?)(?=\nYour translation:|\n\n\[|\Z)", re.MULTILINE | re.DOTALL)


class DigestResponder:
    """``responder(request_json) -> str`` for the papers of ``digest`` (module docstring)."""

    def __init__(self, digest: Path = SEED) -> None:
        papers = parse_digest(digest).papers
        self.abstracts = [p.abstract for p in papers if p.abstract.strip()]
        fields = [(text, name) for p in papers for name, text in p.fields.items() if text and text.strip()]
        self.fields = sorted(fields, key=lambda item: len(item[0]), reverse=True)  # longest first

    def variables(self, request_json: dict[str, Any]) -> dict[str, str]:
        """The template variables of a request, found by the digest texts its messages hold."""
        text = "\n".join(str(m.get("content", "")) for m in request_json.get("messages") or [])
        text = text or str(request_json.get("prompt", ""))
        abstract = next((a for a in self.abstracts if a in text), None)
        if abstract is not None:
            return {"abstract": abstract}
        found = next(((source, name) for source, name in self.fields if source in text), None)
        if found is None:
            return {}
        source, name = found
        return {"source": source, "field": name, "field_label": FIELD_TITLES.get(name, name)}

    def __call__(self, request_json: dict[str, Any]) -> str:
        fields = self.group_fields(request_json)
        if fields:  # a call for several fields at once (output: fields)
            return template_responder(LLMRequest(kind="chat", model=str(request_json.get("model", "")),
                                                 variables={"fields": fields},
                                                 output_fields=tuple(f["name"] for f in fields)))
        request = LLMRequest(kind="chat", model=str(request_json.get("model", "")),
                             variables=self.variables(request_json), output_key=output_key(request_json))
        return template_responder(request)

    @staticmethod
    def group_fields(request_json: dict[str, Any]) -> list[dict[str, str]]:
        """The fields of a call that asks for several at once: ``[name] Label:`` then the source."""
        text = "\n".join(str(m.get("content", "")) for m in request_json.get("messages") or []
                         if m.get("role") == "user")
        return [{"name": m.group(1), "label": m.group(2), "source": m.group(3).strip()}
                for m in _FIELD_BLOCK.finditer(text)]


def output_key(request_json: dict[str, Any]) -> str | None:
    """The JSON key a prompt's system message shows (``{"translation": ...}``), else None."""
    system = " ".join(str(m.get("content", "")) for m in request_json.get("messages") or []
                      if m.get("role") == "system")
    match = _JSON_KEY.search(system)
    return match.group(1) if match else None


@lru_cache(maxsize=1)
def seed_responder() -> DigestResponder:
    return DigestResponder()


def pipeline_responder(request_json: dict[str, Any]) -> str:
    """What the ``fake`` provider would answer to this request about a paper of the sample digest."""
    return seed_responder()(request_json)


def failing_responder(request_json: dict[str, Any]) -> str:
    """Replies that fail every check, first answers and re-asks alike: a call for several fields
    gets their Chinese sources back (``unchanged``, ``residual_cjk``), any other call a chatty
    TL;DR with an invented figure (``preamble``, ``invented_numbers``). Every field is re-asked
    once and its paper ends ``failed``: the bench's "every field re-asked" row."""
    import json

    fields = DigestResponder.group_fields(request_json)
    if fields:
        return json.dumps({f["name"]: f["source"] for f in fields}, ensure_ascii=False)
    return "Sure! It improves everything by 99.9% on every benchmark we could find."


def json_prompt_files() -> dict[str, str]:
    """Prompt file texts (name -> YAML) of the repo's chat prompts declaring ``output: json`` with
    ``json_mode`` and a JSON instruction (a prompt that already declares it is kept as it is);
    for :func:`support.eval_config.write_config`'s ``prompts``."""
    files = {}
    for name, key in JSON_KEYS.items():
        data = yaml.safe_load((REPO / "prompts" / f"{name}.yaml").read_text(encoding="utf-8"))
        if data.get("output") != "json":
            data["messages"][0]["content"] += (f'\nAnswer with a JSON object only: {{"{key}": "<your answer>"}}, '
                                               "escaping each LaTeX backslash as JSON requires.")
            data |= {"output": "json", "output_key": key}
            data["params"] = {**data.get("params", {}), "json_mode": True}
        files[name] = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return files
