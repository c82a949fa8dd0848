"""Malformed model replies: the reply parser (LaTeX-safe JSON repair) and the caller's re-asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import SEED, shared
from support.requirements import missing

from pipeline.cache import MemoryCacheStore
from pipeline.events import EventLog
from pipeline.llm.base import LLMRequest, LLMResponse
from pipeline.llm.fake import FakeProvider
from pipeline.llm.reply import parse_reply, repair_json_escapes
from pipeline.llm.retry import RetryPolicy
from pipeline.prompts import PromptTemplate, load_prompt
from pipeline.stages.caller import MAX_TOKENS_CAP, ModelCaller


LATEX_07 = {
    "tldr": r"We prove an $\mathcal{O}(\sqrt{T})$ regret bound for the $\epsilon$-greedy variant.",
    "motivation": r"Existing bounds scale as $\Omega(T^{2/3})$.",
    "method": r"A potential-function argument with $\sum_{t} \alpha_t \leq \log K$.",
    "result": r"Regret $\leq \sqrt{T \log K}$ on $\mathbb{R}^d$.",
    "conclusion": r"Tight up to $\log$ factors.",
}
LATEX_08 = {
    "tldr": r"Minimises $\frac{1}{n} \theta^\top x$ with step $\tau \times \nabla f$.",
    "motivation": r"Prior bounds depend on $\beta$ and $\rho$.",
    "method": r"Uses $\bar{x}$ averaging and $\bigl( \text{clip} \bigr)$.",
    "result": r"Error $\nu \to 0$; also written correctly as $\alpha = 0.1$.",
    "conclusion": r"Works for $\rho < 1$.",
}
FENCED_17 = {
    "tldr": "A lightweight segmentation network that runs twice as fast on phones.",
    "motivation": "Mobile devices need fast segmentation.",
    "method": "Depthwise-separable convolutions with a shallow decoder.",
    "result": "2x speed-up at equal mIoU.",
    "conclusion": "Suitable for on-device use.",
}


def synthetic(name: str) -> str:
    return shared("synthetic", name).read_text(encoding="utf-8")


def json_reply(raw: str, key: str, finish_reason: str = "stop"):
    return parse_reply(raw, finish_reason, output="json", key=key)


# -- the shared examples -----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("07-latex-backslash-in-json.txt", LATEX_07),
    ("08-latex-valid-escape-corruption.txt", LATEX_08),
    ("17-code-fenced-json.txt", FENCED_17),
], ids=["07-raw-backslashes", "08-valid-escapes", "17-code-fence"])
def test_shared_examples_parse_with_latex_intact(name: str, expected: dict[str, str]) -> None:
    raw = synthetic(name)
    for key, text in expected.items():
        reply = json_reply(raw, key)
        assert reply.ok and reply.text == text, (key, reply)
        assert not any(ord(ch) < 32 for ch in reply.text)  # no form feed / tab / backspace left


def test_08_would_be_corrupted_by_plain_json_loads() -> None:
    raw = synthetic("08-latex-valid-escape-corruption.txt")
    assert "\x0c" in json.loads(raw)["tldr"]  # the corruption this module exists to undo
    assert json_reply(raw, "tldr").repairs == ("15 JSON escape(s) read as LaTeX commands",)


def test_11_truncated_reply_keeps_only_complete_sentences_of_the_wanted_key() -> None:
    data = json.loads(synthetic("11-truncated-finish-length.json"))["response"]["choices"][0]
    content, finish = data["message"]["content"], data["finish_reason"]
    assert finish == "length"
    method = json_reply(content, "method", finish)  # cut mid-string: never half a field
    assert (method.ok, method.truncated) == (False, True)
    assert "finish_reason=length" in method.problem
    tldr = json_reply(content, "tldr", finish)  # closed before the cut and a whole sentence: kept
    assert tldr.text == ("The paper introduces a benchmark of 728 agent tasks and shows that clarification-"
                         "seeking states raise prompt-injection success from 1.8% to 34.0%.")
    assert "cut at max_tokens" in tldr.repairs[-1]


# -- escapes -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    (r'{"t": "$\\frac{a}{b}$ and $\\alpha$"}', r"$\frac{a}{b}$ and $\alpha$"),      # correct JSON: unchanged
    (r'{"t": "line one\nline two"}', "line one\nline two"),                       # a real newline
    (r'{"t": "one\nunder two"}', "one\nunder two"),                              # \n + "under": not \nu
    (r'{"t": "a\tb"}', "a\tb"),                                                  # a real tab
    (r'{"t": "$\nu$, $\nabla$, $\neq$, $\rho$, $\right)$"}', r"$\nu$, $\nabla$, $\neq$, $\rho$, $\right)$"),
    (r'{"t": "$\boldsymbol{x}$ and $\bmod$ and $\foo$"}', r"$\boldsymbol{x}$ and $\bmod$ and $\foo$"),  # \b \f + letter
    (r'{"t": "caf\u00e9 $\underline{x}$ 50\%"}', r"café $\underline{x}$ 50\%"),  # \u escape vs \underline, \%
    ('{"t": "a raw\nnewline inside"}', "a raw\nnewline inside"),                  # control char in string
])
def test_escape_repairs(raw: str, expected: str) -> None:
    assert json_reply(raw, "t").text == expected


def test_repair_reports_what_it_changed() -> None:
    fixed, repairs = repair_json_escapes(r'{"t": "$\mathcal{O}$ $\theta$ \\ok"}')
    assert json.loads(fixed)["t"] == r"$\mathcal{O}$ $\theta$ \ok"
    assert repairs == ["1 invalid JSON escape(s) kept as LaTeX backslashes", "1 JSON escape(s) read as LaTeX commands"]


# -- shapes and failures -----------------------------------------------------------------------

def test_prose_around_bare_json_is_dropped() -> None:
    reply = json_reply('Here you go: {"translation": "We propose X."} Hope this helps!', "translation")
    assert reply.text == "We propose X."


def test_other_single_key_is_accepted_but_not_a_multi_key_object_without_it() -> None:
    assert json_reply('{"text": "We propose X."}', "translation").text == "We propose X."
    reply = json_reply('{"a": "x", "b": "y"}', "translation")
    assert not reply.ok and "no 'translation'" in reply.problem


def test_plain_text_where_json_was_asked_is_accepted() -> None:
    reply = json_reply("We propose X.", "translation")
    assert reply.text == "We propose X." and reply.repairs == ("plain text where JSON was asked for",)
    latex = r"The rate is $\mathcal{O}(1/\sqrt{T})$ for $\{x_i\}$."  # braces, but no JSON object
    assert json_reply(latex, "translation").text == latex
    assert json_reply('"We propose X."', "translation").text == "We propose X."  # a bare JSON string


@pytest.mark.parametrize(("raw", "finish", "problem", "truncated"), [
    ("", "stop", "empty reply", False),
    (None, "stop", "empty reply", False),
    ("   \n", "length", "empty reply (cut at max_tokens before any text)", True),
    ('{"translation": ""}', "stop", "JSON 'translation' is empty", False),
    ('{"translation": 3}', "stop", "JSON 'translation' is a int", False),
    ('{"translation": }', "stop", "reply is not valid JSON", False),
    ('{"translation": "We propose', "length", "cut at max_tokens", True),
    ('{"translation": "We propose X."', "length", None, False),  # value closed, a sentence: kept
    ('["We propose X."]', "stop", "JSON reply is a list", False),
])
def test_unusable_replies_say_why(raw: str | None, finish: str, problem: str | None, truncated: bool) -> None:
    reply = json_reply(raw, "translation", finish)
    if problem is None:
        assert reply.text == "We propose X."
        return
    assert reply.text is None and problem in reply.problem and reply.truncated is truncated


def test_text_output_is_returned_as_is_unless_empty() -> None:
    assert parse_reply(" We propose X. ", "length").text == " We propose X. "
    assert not parse_reply("", "stop").ok


# -- prompts -----------------------------------------------------------------------------------

def test_repo_prompts_declaring_json_output_ask_for_that_key(repo: Path) -> None:
    prompts = [load_prompt(path) for path in sorted((repo / "prompts").glob("*.yaml"))]
    json_prompts = [p for p in prompts if p.output == "json"]
    assert json_prompts, "no prompt declares output: json"
    for prompt in json_prompts:
        text = "\n".join(m.content for m in prompt.messages or []) or prompt.template or ""
        assert f'{{"{prompt.output_key}": ' in text and "JSON" in text, prompt.name


def test_prompt_output_defaults_to_text_and_json_mode_needs_json_output() -> None:
    prompt = PromptTemplate(name="p", kind="chat", messages=[{"role": "user", "content": "hi"}])
    assert prompt.output == "text" and prompt.render("m", {}).output_key is None
    with pytest.raises(ValueError, match="json_mode / json_schema need 'output: json'"):
        PromptTemplate(name="p", kind="chat", messages=[{"role": "user", "content": "hi"}],
                       params={"json_mode": True})


# -- the caller: re-asks -----------------------------------------------------------------------

JSON_PROMPT = PromptTemplate(name="t", kind="chat", messages=[{"role": "user", "content": "Translate {{ source }}"}],
                             variables=["source"], params={"max_tokens": 100, "json_mode": True},
                             output="json", output_key="translation", content_hash="h")


def caller_with(replies: list[str | LLMResponse], cache: MemoryCacheStore | None = None,
                **kwargs) -> tuple[ModelCaller, FakeProvider, EventLog]:
    queue = list(replies)
    provider = FakeProvider(responder=lambda request: queue.pop(0) if len(queue) > 1 else queue[0])
    events = EventLog()
    caller = ModelCaller(provider, MemoryCacheStore() if cache is None else cache, events, RetryPolicy(max_attempts=1), **kwargs)
    return caller, provider, events


def call(caller: ModelCaller, source: str = "你好"):
    return caller.call(stage="translate", stage_version="1", prompt=JSON_PROMPT, model="m",
                       variables={"source": source}, paper_id="p1", field_name="tldr")


def test_json_reply_is_parsed_in_the_caller() -> None:
    caller, provider, events = caller_with(['Sure:\n```json\n{"translation": "$\\frac{1}{2}$ of it."}\n```\nDone.'])
    result = call(caller)
    assert result.text == r"$\frac{1}{2}$ of it." and result.attempts == 1 and not result.problem
    assert provider.requests[0].json_mode and provider.requests[0].output_key == "translation"


def test_empty_reply_is_reasked_with_a_new_seed_and_warm_runs_replay_it() -> None:
    cache = MemoryCacheStore()
    caller, provider, events = caller_with(["", '{"translation": "Hello."}'], cache)
    result = call(caller)
    assert (result.text, result.attempts, result.usage.calls) == ("Hello.", 2, 2)
    first, second = provider.requests
    assert (first.seed, first.temperature, second.seed, second.temperature) == (0, 0.0, 1, 0.7)
    assert events.count("reasked") == 1 and events.count("executed") == 2
    assert "empty reply" in next(e.detail for e in events.events if e.kind == "reasked")
    warm, _, warm_events = caller_with(["never asked"], cache)
    assert call(warm).text == "Hello." and warm_events.count("cache_hit") == 2 and warm_events.count("executed") == 0


def test_reply_cut_at_max_tokens_is_reasked_with_twice_the_tokens() -> None:
    cut = LLMResponse(text='{"translation": "We pro', finish_reason="length")
    caller, provider, events = caller_with([cut, '{"translation": "We propose X."}'])
    result = call(caller)
    assert result.text == "We propose X."
    assert [r.max_tokens for r in provider.requests] == [100, 200]


def test_max_tokens_never_exceeds_the_cap() -> None:
    cut = LLMResponse(text='{"translation": "We pro', finish_reason="length")
    caller, provider, _ = caller_with([cut])
    call_result = caller.call(stage="translate", stage_version="1", prompt=JSON_PROMPT, model="m",
                              variables={"source": "x"}, paper_id="p", max_tokens=MAX_TOKENS_CAP // 2)
    assert [r.max_tokens for r in provider.requests] == [MAX_TOKENS_CAP // 2, MAX_TOKENS_CAP, MAX_TOKENS_CAP]
    assert call_result.problem


def test_unrecoverable_reply_gives_empty_text_and_the_reason_never_an_exception() -> None:
    caller, provider, events = caller_with(['{"translation": }'], reply_attempts=3)
    result = call(caller)
    assert result.text == "" and result.attempts == 3 and len(provider.requests) == 3
    assert result.problem.startswith("no usable model reply in 3 answer(s): reply is not valid JSON")
    assert events.count("reasked") == 2


def test_unusable_translation_fails_validation_with_a_clear_schema_issue(tmp_path: Path, fake_provider) -> None:
    from support.eval_config import write_config
    from support.pipeline_responder import json_prompt_files

    from pipeline.app import RunOptions, execute_run
    from pipeline.llm.fake import template_responder

    def broken_method(request: LLMRequest) -> str:
        if request.tags.get("field") == "method" and request.tags.get("stage") == "translate":
            return '{"translation": "We pro'  # a reply cut mid-JSON, every time
        return template_responder(request)

    config = write_config(tmp_path, provider=fake_provider(broken_method), prompts=json_prompt_files(),
                          per_field=True)
    result = execute_run(SEED, RunOptions(config=config, ids=["2601.16302"], no_cache=True))
    (doc,) = result.documents
    assert doc.validation.status == "failed" and doc.translation.method is None
    assert doc.validation.rejected["translation.method"] == ""
    (issue,) = [i for i in doc.validation.issues if i.field == "translation.method" and i.severity == "error"]
    assert issue.check == "schema"
    assert issue.message.startswith("text is empty: model reply unusable: no usable model reply in 3 answer(s)")
    assert doc.translation.tldr and doc.validation.issues.count(issue) == 1
    assert result.events.count("reasked", "translate") == 2 * 2  # 3 answers to the prompt, 3 to the repair prompt


