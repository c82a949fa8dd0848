"""Turning a raw model reply into the answer text: JSON extraction with LaTeX-safe repairs.

A prompt declares its output (``output: text | json`` and ``output_key`` in the prompt file);
:func:`parse_reply` applies that declaration to a reply and returns a :class:`Reply`: the answer
text, or why the reply is unusable and whether asking again with more ``max_tokens`` could help.
It never raises. The stage layer (:class:`pipeline.stages.caller.ModelCaller`) re-asks on an
unusable reply.

What a JSON reply may look like and what is done about it:

- **raw LaTeX backslashes** (``"$\\mathcal{O}$"``: ``\\m`` is not a JSON escape, so the JSON is
  invalid): every backslash that does not start a valid escape is doubled before parsing;
- **valid escapes that eat LaTeX** (``"\\frac"``, ``"\\theta"``, ``"\\beta"``, ``"\\nu"``,
  ``"\\rho"`` parse as form feed, tab, backspace, newline, carriage return + letters): an escape
  ``\\b`` / ``\\f`` followed by a letter (a backspace or form feed is never meant in prose), or
  ``\\n`` / ``\\r`` / ``\\t`` followed by the rest of a known LaTeX command name
  (:data:`LATEX_COMMANDS`) and then a non-letter, is read as the LaTeX command;
- **a code fence** (```` ```json ... ``` ````) with prose around it: the fenced block is parsed;
  without a fence, the outermost ``{...}`` is;
- **cut at max_tokens** (``finish_reason: length``) mid-JSON: unusable (``truncated``: re-ask with
  more tokens), unless the wanted key's string value was already complete and ends a sentence;
- **empty content**, a JSON value that is not a non-empty string, no JSON at all when the reply
  looks like JSON, or JSON that does not parse even after repair: unusable (re-ask);
- **plain prose** (no ``{"`` anywhere; LaTeX braces do not count) where JSON was asked for:
  accepted as the answer (servers without JSON mode, models that ignore the format); validation
  judges the text. A bare JSON string or array is read as JSON.

A ``text`` prompt's reply is returned as it is, unless it is empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

OutputKind = Literal["text", "json"]

#: LaTeX command names whose first letter is a JSON escape letter (b f n r t). An escape ``\\n``,
#: ``\\r`` or ``\\t`` followed by the rest of one of these names (then a non-letter) is LaTeX;
#: ``\\b`` and ``\\f`` followed by any letter always are. ``\\ne`` and ``\\ni`` are left out: a
#: newline before "e.g." or "i.e." is likelier than the symbol.
LATEX_COMMANDS: frozenset[str] = frozenset("""
    b bar backslash bar beta bf bfseries bm bmod big bigg Bigg bigl bigr Bigl Bigr biggl biggr bigcap
    bigcup bigoplus bigotimes bigsqcup bigvee bigwedge binom boldsymbol bot botrule bowtie boxed
    boxtimes breve bullet
    flat forall frac frown footnotesize framebox fbox
    nabla natural neg neq nearrow newline nexists ngeq ngtr nleq nless nmid noindent nolimits
    nonumber not notin nparallel nrightarrow nsim nsubseteq nsupseteq nu nwarrow
    rangle rbrace rbrack rceil rfloor rho right rightarrow rightharpoonup rightleftharpoons rm rmfamily
    rVert rvert
    tan tanh tau tbinom text textbf textit textnormal textrm textsc textsf textsl texttt textup tfrac
    theta therefore thickapprox thicksim tilde times tiny to top triangle triangleq triangleleft
    triangleright tt twoheadrightarrow
""".split())

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_OBJECT_START = re.compile(r'\{\s*(?:"|\}|\Z)')
"""Where a JSON object starts: ``{`` then a key's quote, ``}`` or the end (a cut reply), so
LaTeX braces in a plain-text answer (``$\\mathcal{O}$``) are not taken for JSON."""
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_LETTERS = re.compile(r"[A-Za-z]*")
_SENTENCE_END = re.compile(r"""[.!?。！？](?:["')\]\s$]*)$""")


@dataclass(frozen=True)
class Reply:
    """The outcome of :func:`parse_reply`.

    Attributes:
        text: the answer, or None when the reply is unusable.
        problem: why it is unusable (one line), empty when usable.
        truncated: the reply was cut at ``max_tokens``; asking with more tokens may help.
        repairs: what was repaired to get ``text`` (e.g. ``"invalid JSON escapes"``).
    """

    text: str | None
    problem: str = ""
    truncated: bool = False
    repairs: tuple[str, ...] = field(default=())
    fields: dict[str, str] | None = None
    """``output: fields`` (:func:`pipeline.llm.reply_fields.parse_fields`): the text of each field answered."""

    @property
    def ok(self) -> bool:
        return self.text is not None


def parse_reply(raw: str | None, finish_reason: str = "stop", *, output: OutputKind = "text",
                key: str = "text") -> Reply:
    """The answer in ``raw`` per the prompt's output declaration (see the module docstring)."""
    text = raw or ""
    cut = finish_reason == "length"
    if not text.strip():
        detail = " (cut at max_tokens before any text)" if cut else ""
        return Reply(None, f"empty reply{detail}", truncated=cut)
    if output == "text":
        return Reply(text)
    return _parse_json_reply(text, cut, key)


def _parse_json_reply(text: str, cut: bool, key: str) -> Reply:
    body, fenced = json_candidate(text)
    if body is None:
        if cut:
            return Reply(None, "reply cut at max_tokens (finish_reason=length)", truncated=True)
        if text.strip()[:1] in ('"', "["):  # a JSON string or array, not prose
            try:
                return _value_of(json.loads(repair_json_escapes(text.strip())[0], strict=False), key, ())
            except ValueError:
                pass
        return Reply(text.strip(), repairs=("plain text where JSON was asked for",))
    repairs = ["code fence / surrounding prose"] if fenced or body.strip() != text.strip() else []
    fixed, escape_repairs = repair_json_escapes(body)
    repairs += escape_repairs
    try:
        data = json.loads(fixed, strict=False)
    except ValueError as exc:
        if cut:
            return recover_cut(fixed, key, repairs)
        return Reply(None, f"reply is not valid JSON ({exc.msg} at char {exc.pos})")
    return _value_of(data, key, tuple(repairs))


def json_candidate(text: str) -> tuple[str | None, bool]:
    """The JSON text of a reply (a fenced block's, else the reply's): from the first ``{`` that
    opens an object to the last ``}`` (or to the end, when the reply was cut). None when no
    object starts anywhere."""
    fence = _FENCE.search(text)
    fenced = fence is not None and _OBJECT_START.search(fence.group(1)) is not None
    inside = fence.group(1) if fenced else text
    opening = _OBJECT_START.search(inside)
    if opening is None:
        return None, False
    start = opening.start()
    end = inside.rfind("}")
    return (inside[start:end + 1] if end > start else inside[start:]), fenced


def repair_json_escapes(body: str) -> tuple[str, list[str]]:
    """``body`` with LaTeX backslashes made valid JSON (module docstring); and what was repaired."""
    counts = {"invalid": 0, "latex": 0}

    def fix(match: re.Match[str]) -> str:
        escape = match.group(1)
        if len(escape) == 5 or escape in '"\\/':  # \\uXXXX or \\" \\\\ \\/
            return match.group(0)
        if escape in "bfnrt":
            letters = _LETTERS.match(body, match.end()).group(0)
            if (escape in "bf" and letters) or (escape + letters) in LATEX_COMMANDS:
                counts["latex"] += 1
                return "\\\\" + escape
            return match.group(0)
        counts["invalid"] += 1
        return "\\\\" + escape

    fixed = _ESCAPE.sub(fix, body)
    repairs = []
    if counts["invalid"]:
        repairs.append(f"{counts['invalid']} invalid JSON escape(s) kept as LaTeX backslashes")
    if counts["latex"]:
        repairs.append(f"{counts['latex']} JSON escape(s) read as LaTeX commands")
    return fixed, repairs


def _value_of(data: Any, key: str, repairs: tuple[str, ...]) -> Reply:
    if isinstance(data, str):
        value: Any = data
    elif isinstance(data, dict):
        value = data.get(key)
        if value is None:
            strings = [v for v in data.values() if isinstance(v, str)]
            if len(data) == 1 and len(strings) == 1:
                value, repairs = strings[0], repairs + (f"key {next(iter(data))!r} instead of {key!r}",)
            else:
                found = ", ".join(repr(k) for k in list(data)[:5]) or "none"
                return Reply(None, f"JSON reply has no {key!r} (keys: {found})")
    else:
        return Reply(None, f"JSON reply is a {type(data).__name__}, expected an object with {key!r}")
    if not isinstance(value, str):
        return Reply(None, f"JSON {key!r} is a {type(value).__name__}, expected a string")
    if not value.strip():
        return Reply(None, f"JSON {key!r} is empty")
    return Reply(value, repairs=repairs)


def recover_cut(fixed: str, key: str, repairs: list[str]) -> Reply:
    """A reply cut mid-JSON: keep ``key``'s value only if its string closed and ends a sentence."""
    problem = "reply cut at max_tokens (finish_reason=length) before the JSON was complete"
    match = re.search(r'"%s"\s*:\s*"((?:[^"\\]|\\.)*)"' % re.escape(key), fixed, re.DOTALL)
    if match is None:
        return Reply(None, problem, truncated=True)
    try:
        value = json.loads(f'"{match.group(1)}"', strict=False)
    except ValueError:
        return Reply(None, problem, truncated=True)
    if not value.strip() or not _SENTENCE_END.search(value.strip()):
        return Reply(None, problem, truncated=True)
    return Reply(value, repairs=tuple(repairs) + (f"complete {key!r} kept from a reply cut at max_tokens",))
