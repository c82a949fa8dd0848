"""Reading a reply that answers several fields at once (``output: fields``): one text per field.

The reply should be a JSON object keyed by field name (``{"tldr": "...", "method": "..."}``), the
shape :func:`pipeline.prompts.fields_schema` asks servers for. What else is read, and how:

- the JSON repairs of :mod:`pipeline.llm.reply` (code fences, prose around the object, LaTeX
  backslashes that break or bend JSON escapes);
- a reply **cut at max_tokens** mid-JSON: the fields whose string value closed and ends a sentence
  are kept, the others are missing;
- **plain text** with one labelled paragraph per field (``TL;DR: ...``, ``Method: ...`` or
  ``[method] ...``: servers without JSON mode, models that ignore the format); with one field
  asked, an unlabelled text is that field's answer;
- a field missing from the reply, empty or not a string is left out of ``fields``: the stage
  checks it as missing and re-asks it. A reply with none of the fields is unusable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pipeline.llm.reply import Reply, json_candidate, recover_cut, repair_json_escapes
from pipeline.models import FIELD_TITLES


def parse_fields(raw: str | None, finish_reason: str, names: Sequence[str]) -> Reply:
    """The answers in ``raw`` for the fields ``names`` (module docstring): a :class:`Reply` whose
    ``fields`` maps each field answered to its text (``text`` is the raw reply), or unusable."""
    text, cut = raw or "", finish_reason == "length"
    if not text.strip():
        return Reply(None, "empty reply" + (" (cut at max_tokens before any text)" if cut else ""), truncated=cut)
    body, fenced = json_candidate(text)
    if body is None:
        return _plain_fields(text, cut, names)
    repairs = ["code fence / surrounding prose"] if fenced or body.strip() != text.strip() else []
    fixed, escape_repairs = repair_json_escapes(body)
    repairs += escape_repairs
    try:
        data = json.loads(fixed, strict=False)
    except ValueError as exc:
        if cut:
            return _cut_fields(fixed, names, repairs)
        return Reply(None, f"reply is not valid JSON ({exc.msg} at char {exc.pos})")
    if not isinstance(data, dict):
        return Reply(None, f"JSON reply is a {type(data).__name__}, expected an object keyed by field")
    fields = {n: v.strip() for n in names if isinstance(v := data.get(n), str) and v.strip()}
    if not fields:
        keys = ", ".join(repr(k) for k in list(data)[:5]) or "none"
        return Reply(None, f"JSON reply has none of the fields {', '.join(names)} (keys: {keys})", truncated=cut)
    return Reply(text, repairs=tuple(repairs), fields=fields)


def _cut_fields(fixed: str, names: Sequence[str], repairs: list[str]) -> Reply:
    """A reply cut mid-JSON: the fields whose value was complete (see :func:`recover_cut`)."""
    fields = {}
    for name in names:
        found = recover_cut(fixed, name, [])
        if found.ok and found.text:
            fields[name] = found.text.strip()
    if not fields:
        return Reply(None, "reply cut at max_tokens (finish_reason=length) before any field was complete",
                     truncated=True)
    return Reply(fixed, repairs=(*repairs, "complete fields kept from a reply cut at max_tokens"), fields=fields)


def _plain_fields(text: str, cut: bool, names: Sequence[str]) -> Reply:
    """A reply with no JSON object: labelled paragraphs, or the whole text for a single field."""
    if cut:
        return Reply(None, "reply cut at max_tokens (finish_reason=length)", truncated=True)
    fields = labelled_fields(text, names)
    if not fields and len(names) == 1:
        fields = {names[0]: text.strip()}
    if not fields:
        return Reply(None, f"plain-text reply labels none of the fields {', '.join(names)}")
    return Reply(text, repairs=("plain text where JSON was asked for",), fields=fields)


def labelled_fields(text: str, names: Sequence[str]) -> dict[str, str]:
    """``{name: text}`` of the paragraphs of ``text`` that start with a field's label (its name or
    title, optionally bold or in brackets, then ``:``), up to the next label."""
    labels = {re.escape(label).lower(): name for name in names
              for label in (name, FIELD_TITLES.get(name, name))}
    pattern = re.compile(r"^[ \t]*(?:\*\*|\[)?(%s)(?:\*\*|\])?[ \t]*:?\*{0,2}[ \t]*" % "|".join(labels),
                         re.IGNORECASE | re.MULTILINE)
    starts = list(pattern.finditer(text))
    fields: dict[str, str] = {}
    for match, following in zip(starts, [*starts[1:], None]):
        name = labels[re.escape(match.group(1)).lower()]
        body = text[match.end():following.start() if following else len(text)].strip()
        if body and name not in fields:
            fields[name] = re.sub(r"\s+", " ", body)
    return fields
