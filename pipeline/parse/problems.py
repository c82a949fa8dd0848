"""Recognise source text that is not content: failure placeholders, refusals, unfilled templates.

Used by the parsers (to fill ``Paper.source_problems``) and by the validation stage (to reject the
same text in model output). The patterns come from the real digests in ``shared/data/real``
(``Summary generation failed``, ``Motivation analysis unavailable``, ``Method extraction failed``,
the Korean/Chinese forks' fallbacks) and the synthetic fault files 01, 06 and 21.

Every reason starts with a fixed kind followed by ``": "`` and detail, so callers can branch on
``reason.split(":")[0]``: ``missing``, ``empty``, ``failure placeholder``, ``refusal text``,
``unfilled template``.
"""

from __future__ import annotations

import re

# Whole-text placeholders written by digest generators when the LLM call failed or had nothing to say.
_PLACEHOLDERS = [re.compile(p, re.IGNORECASE) for p in (
    # "Summary generation failed", "Motivation analysis unavailable", "Processing failed", "Error"
    r"(?:(?:summary|motivation|method|results?|conclusion|tl;?dr|task|background|data|abstract"
    r"|translation|ai|llm|api|model)\s+)?(?:(?:generation|extraction|analysis|processing"
    r"|summarization|translation|call|request)\s+)?(?:failed|unavailable|not available|error)",
    r"(?:error|exception)\s*[:：].{0,80}",                           # Error: rate limit exceeded
    r"n/?a|none|null|nil|nan|undefined|tbd|todo|placeholder|[-–—_.…]+",
    r"not (?:mentioned|provided|available|specified|applicable)(?: in (?:the )?(?:abstract|paper))?",
    r"no (?:summary|abstract|content|result|data|information)(?: (?:available|provided|found))?",
    r"(?:错误\s*[:：]\s*)?(?:AI)?(?:分析|生成|处理|摘要生成|总结生成|提取|翻译)?(?:失败|出错|不可用)",
    r"无|暂无|空|未提供|(?:摘要中)?未提及",
)]

# Refusal / moderation text (phrases, found anywhere in the text).
_REFUSALS = re.compile("|".join((
    r"not passed the compliance", r"content has been (?:hidden|removed|blocked)",
    r"^I(?:'m| am) sorry\b", r"\bI can(?:not|'t) (?:help|assist|provide|comply|fulfil)",
    r"\bas an AI(?: language)? model\b",
    r"未通过合规", r"已被隐藏", r"^(?:很)?抱歉", r"我无法(?:提供|协助|完成|回答)",
)), re.IGNORECASE)

# A template variable that was never substituted: {tldr}, {{ tldr }}, ${tldr}, %(tldr)s, <tldr>.
_TEMPLATE = re.compile(r"\{\{?\s*[A-Za-z_][\w.]*\s*\}?\}|\$\{[A-Za-z_]\w*\}|%\([A-Za-z_]\w*\)s|<[a-z_]+>")


def source_problem(text: str | None) -> str | None:
    """Return why ``text`` is not usable content, or None when it is ordinary text.

    Shapes: ``None`` -> ``"missing: ..."``; ``""``/whitespace -> ``"empty: ..."``;
    ``"Summary generation failed"`` -> ``"failure placeholder: Summary generation failed"``;
    ``"This content has not passed the compliance test..."`` -> ``"refusal text: ..."``;
    ``"{tldr}"`` -> ``"unfilled template: {tldr}"``. Never raises.
    """
    if text is None:
        return "missing: the source has no such field"
    stripped = text.strip().strip("*_`\"'").strip()
    if not stripped:
        return "empty: the source field is blank"
    bare = stripped.rstrip(".。!！") or stripped
    if _TEMPLATE.fullmatch(bare):
        return f"unfilled template: {_clip(bare)}"
    if any(p.fullmatch(bare) for p in _PLACEHOLDERS):
        return f"failure placeholder: {_clip(stripped)}"
    if _REFUSALS.search(stripped):
        return f"refusal text: {_clip(stripped)}"
    return None


def _clip(text: str, limit: int = 80) -> str:
    """The text on one line, cut to ``limit`` characters for use in a message."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
