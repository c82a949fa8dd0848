"""Prompt files: ``prompts/<name>.yaml`` loaded into :class:`PromptTemplate`.

A prompt file is YAML with these keys (unknown keys are rejected)::

    name: translate-fewshot          # must equal the file stem
    kind: completion                  # chat | completion
    description: ...
    variables: [source, field]        # every variable the template may use, all required
    template: |                       # kind=completion: one Jinja2 template
      ... {{ source }} ...
    messages:                         # kind=chat: list of {role, content} Jinja2 templates
      - {role: system, content: ...}
      - {role: user, content: "{{ source }}"}
    stop: ["\\n\\n"]
    params: {max_tokens: 200, temperature: 0.0, top_p: 1.0, seed: 0, json_mode: false}
    output: json                      # text (default) | json: the reply is a JSON object ...
    output_key: translation           # ... and the answer is its string value under this key
                                      # | fields: a JSON object with one answer per field asked
                                      #   (the variable ``fields``: a list of {name, label, ...})

With ``output: json`` the reply is parsed by :func:`pipeline.llm.reply.parse_reply` (code fences,
LaTeX backslashes, cut-off replies); set ``params.json_mode: true`` as well to ask the server for a
JSON object where it supports it (the prompt text must then mention JSON). With ``output: fields``
the reply is one answer per field (:func:`pipeline.llm.reply.parse_fields`); ``params.json_schema:
true`` asks for structured output following :func:`fields_schema` where the server supports it.

Templates render in a sandboxed Jinja2 environment with ``StrictUndefined``. Variables the
template references must be declared, and rendering without a declared variable raises
:class:`pipeline.errors.ConfigError` naming it. The prompt's ``content_hash`` (sha256 of the file
bytes) enters every cache key and every output's provenance.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from collections.abc import Callable
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import ConfigError
from pipeline.llm.base import ChatMessage, LLMRequest

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Callable[[dict[str, Any]], str]:
    """A function rendering ``source`` with a variables dict (compiling costs ~1 ms; a run
    renders thousands). A template that uses no variable, such as most system messages,
    renders to the same text every time: that text is rendered once and reused. A template that
    is only text and ``{{ name }}`` substitutions is rendered by joining its parts, which is what
    Jinja2 would output (``str`` of each value), without building a Jinja2 context per call."""
    template: Template = _ENV.from_string(source)
    tree = _ENV.parse(source)
    if not meta.find_undeclared_variables(tree):
        text = template.render()
        return lambda _variables: text
    parts = _substitution_parts(tree)
    if parts is None:
        return template.render
    return lambda variables: "".join(p if isinstance(p, str) else str(variables[p[0]]) for p in parts)


def _substitution_parts(tree: nodes.Template) -> list[str | tuple[str]] | None:
    """The template as literal strings and ``(variable,)`` slots, or None when it uses anything
    else (filters, attributes, control structures)."""
    parts: list[str | tuple[str]] = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data)
            elif isinstance(node, nodes.Name) and node.ctx == "load":
                parts.append((node.name,))
            else:
                return None
    return parts


class PromptParams(BaseModel):
    """Sampling parameters of a prompt (tokens for ``max_tokens``)."""

    model_config = ConfigDict(extra="forbid")
    max_tokens: int = Field(256, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int | None = 0
    json_mode: bool = False
    json_schema: bool = False


class PromptMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class PromptTemplate(BaseModel):
    """A loaded prompt file; see the module docstring for the format."""

    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["chat", "completion"]
    description: str = ""
    variables: list[str] = Field(default_factory=list)
    template: str | None = None
    messages: list[PromptMessage] | None = None
    stop: list[str] = Field(default_factory=list)
    params: PromptParams = Field(default_factory=PromptParams)
    output: Literal["text", "json", "fields"] = "text"
    output_key: str = Field("text", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    content_hash: str = ""

    @model_validator(mode="after")
    def _check_shape(self) -> "PromptTemplate":
        problems: list[str] = []
        if self.kind == "completion" and not self.template:
            problems.append("kind 'completion' needs a 'template'")
        if self.kind == "chat" and not self.messages:
            problems.append("kind 'chat' needs 'messages'")
        if self.kind == "completion" and self.messages:
            problems.append("kind 'completion' takes 'template', not 'messages'")
        if self.kind == "chat" and self.template:
            problems.append("kind 'chat' takes 'messages', not 'template'")
        if (self.params.json_mode or self.params.json_schema) and self.output == "text":
            problems.append("params.json_mode / json_schema need 'output: json' or 'output: fields' "
                            "(the reply must be parsed as JSON)")
        if self.output == "fields" and "fields" not in self.variables:
            problems.append("'output: fields' needs the variable 'fields' (the fields asked for)")
        for source in self._sources():
            try:
                used = meta.find_undeclared_variables(_ENV.parse(source))
            except TemplateSyntaxError as exc:
                problems.append(f"template syntax error at line {exc.lineno}: {exc.message}")
                continue
            undeclared = sorted(used - set(self.variables))
            if undeclared:
                problems.append(f"template uses undeclared variable(s) {', '.join(undeclared)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _sources(self) -> list[str]:
        if self.template:
            return [self.template]
        return [m.content for m in self.messages or []]

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]

    def render(self, model: str, variables: dict[str, Any], *, tags: dict[str, str] | None = None,
               **overrides: Any) -> LLMRequest:
        """Render into an :class:`LLMRequest` for ``model``.

        Raises ConfigError if a declared variable is missing from ``variables``. ``overrides``
        replaces sampling parameters (e.g. ``temperature`` on a re-ask).
        """
        missing = [v for v in self.variables if v not in variables]
        if missing:
            raise ConfigError(f"prompt {self.name}", [f"missing variable(s) {', '.join(missing)}"])
        params = self.params.model_dump() | overrides
        names = tuple(f["name"] for f in variables.get("fields", ())) if self.output == "fields" else None
        common = dict(model=model, max_tokens=params["max_tokens"], temperature=params["temperature"],
                      top_p=params["top_p"], seed=params["seed"], stop=tuple(self.stop),
                      json_mode=params["json_mode"], tags=dict(tags or {}),
                      variables=dict(variables), output_key=self.output_key if self.output == "json" else None,
                      output_fields=names,
                      json_schema=fields_schema(names) if names is not None and params["json_schema"] else None)
        if self.kind == "completion":
            return LLMRequest(kind="completion", prompt=_compiled(self.template or "")(variables), **common)
        messages = tuple(ChatMessage(m.role, _compiled(m.content)(variables)) for m in self.messages or [])
        return LLMRequest(kind="chat", messages=messages, **common)


def fields_schema(names: tuple[str, ...]) -> dict[str, Any]:
    """The JSON Schema of an ``output: fields`` reply: an object with one string per field name,
    all required, nothing else (the shape OpenAI's structured outputs accept with ``strict``)."""
    return {"type": "object", "properties": {name: {"type": "string"} for name in names},
            "required": list(names), "additionalProperties": False}


def load_prompt(path: Path) -> PromptTemplate:
    """Load and check one prompt file. Raises ConfigError listing every problem in it."""
    try:
        raw_bytes = path.read_bytes()
        data = yaml.safe_load(raw_bytes)
    except OSError as exc:
        raise ConfigError(path, [f"cannot read prompt file: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(data, dict):
        raise ConfigError(path, ["a prompt file must be a YAML mapping"])
    problems: list[str] = []
    if data.get("name") != path.stem:
        problems.append(f"name {data.get('name')!r} must equal the file name {path.stem!r}")
    # Unknown keys are reported here rather than by pydantic, so that the template checks (which
    # only run once every field is valid) still report their problems in the same error.
    known = set(PromptTemplate.model_fields) - {"content_hash"}
    problems += [f"{key}: unknown key (allowed: {', '.join(sorted(known))})" for key in data if key not in known]
    data = {k: v for k, v in data.items() if k in known}
    try:
        prompt = PromptTemplate(**data, content_hash=hashlib.sha256(raw_bytes).hexdigest())
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc))
        raise ConfigError(path, problems) from exc
    if problems:
        raise ConfigError(path, problems)
    return prompt


def load_prompts(directory: Path, names: list[str]) -> dict[str, PromptTemplate]:
    """Load the named prompts from ``directory``; one ConfigError listing every problem."""
    prompts: dict[str, PromptTemplate] = {}
    problems: list[str] = []
    for name in dict.fromkeys(names):
        if not name or "/" in name or "\\" in name or name.startswith("."):
            problems.append(f"prompt name {name!r} is not a plain file name")
            continue
        path = directory / f"{name}.yaml"
        if not path.is_file():
            available = ", ".join(sorted(p.stem for p in directory.glob("*.yaml"))) or "none"
            problems.append(f"prompt {name!r} not found in {directory} (available: {available})")
            continue
        try:
            prompts[name] = load_prompt(path)
        except ConfigError as exc:
            problems.extend(f"{path.name}: {p}" for p in exc.problems)
    if problems:
        raise ConfigError(directory, problems)
    return prompts


def _pydantic_problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(file)"
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{loc}: {msg}")
    return out
