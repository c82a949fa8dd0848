"""LaTeX integrity: balanced delimiters and commands that survived JSON and the model intact.

:func:`latex_errors` returns messages for problems that make the LaTeX wrong (all errors for the
``latex_balance`` check); :func:`latex_warnings` returns doubtful signals (warnings).
"""

from __future__ import annotations

import re

__all__ = ["math_spans", "latex_errors", "latex_warnings"]

_DOLLARS = re.compile(r"(?<!\\)\$\$?")
_CURRENCY = re.compile(r"(?:^|(?<=[\s(]))\$(?=\d)")
_SPANS = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_OPEN_BRACE = re.compile(r"(?<!\\)\{")
_CLOSE_BRACE = re.compile(r"(?<!\\)\}")
_TEXT_ARG = re.compile(r"\\(?:text\w*|mathrm|operatorname|mbox)\s*\{[^{}]*\}")
_ARG_COMMANDS = (
    "mathcal|mathbf|mathrm|mathbb|mathit|mathsf|mathfrak|mathscr|boldsymbol|text|textbf|textit|"
    "textrm|texttt|operatorname|frac|dfrac|tfrac|sqrt|hat|bar|tilde|vec|overline|underline|widehat"
)
_BARE_ARG = re.compile(rf"(?<![\\A-Za-z])(?:{_ARG_COMMANDS})\s*\{{")
_GREEK = (
    "alpha|beta|gamma|delta|epsilon|varepsilon|zeta|theta|vartheta|iota|kappa|lambda|sigma|"
    "upsilon|varphi|omega|Gamma|Delta|Theta|Lambda|Sigma|Omega|nabla|partial|infty|leq|geq|neq|cdot"
)
_BARE_SYMBOL = re.compile(rf"(?<![\\A-Za-z])(?:{_GREEK})(?![A-Za-z])")
_KNOWN_COMMANDS = frozenset(
    (_ARG_COMMANDS + "|" + _GREEK).split("|")
    + "tau times to top tfrac triangle nu neq neg not newline nonumber rho right rangle rceil "
      "rfloor rightarrow rm frac forall bar beta bigl bigr big bf boldsymbol".split()
)
_ESCAPE_LETTER = {"\t": "t", "\n": "n", "\r": "r", "\x08": "b", "\x0c": "f"}
_ESCAPE_NAME = {"\t": "tab", "\n": "newline", "\r": "carriage return", "\x08": "backspace",
                "\x0c": "form feed"}
_CONTROL = re.compile(r"([\x08\x0c])([A-Za-z]*)")
_CONTROL_IN_MATH = re.compile(r"([\t\n\r])([A-Za-z]+)")
_COMMAND = re.compile(r"\\([A-Za-z]+)")


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dollar_error(text: str) -> str | None:
    """Message when ``$``/``$$`` do not pair up (a ``$`` before a digit may be currency)."""
    marks = _DOLLARS.findall(text)
    doubles = marks.count("$$")
    singles = len(marks) - doubles
    if doubles % 2:
        return f'unbalanced "$$": {doubles} display-math delimiters'
    if singles % 2 and (singles - len(_CURRENCY.findall(text))) % 2:
        return f'unbalanced "$": {singles} unescaped dollar signs'
    return None


def math_spans(text: str) -> list[str]:
    """Contents of ``$$…$$``, ``$…$``, ``\\(…\\)`` and ``\\[…\\]`` spans, in order."""
    return [next(g for g in m.groups() if g is not None) for m in _SPANS.finditer(text)]


def _span_errors(span: str) -> list[str]:
    """Brace and ``\\left``/``\\right`` balance, and commands that lost their backslash."""
    problems = []
    opened, closed = len(_OPEN_BRACE.findall(span)), len(_CLOSE_BRACE.findall(span))
    if opened != closed:
        problems.append(f'unbalanced braces in math "{_short(span)}": {opened} "{{" vs {closed} "}}"')
    lefts, rights = span.count("\\left"), span.count("\\right")
    if lefts != rights:
        problems.append(f'unbalanced \\left/\\right in math "{_short(span)}": {lefts} vs {rights}')
    bare = _BARE_ARG.search(span) or _BARE_SYMBOL.search(_TEXT_ARG.sub(" ", span))
    if bare:
        problems.append(f'LaTeX command without its backslash: "{bare.group().strip()}" '
                        f'in "{_short(span)}"')
    return problems


def _escape_errors(text: str, spans: list[str]) -> list[str]:
    """Commands whose ``\\b``/``\\f``/``\\t``/``\\n``/``\\r`` were eaten by a JSON decoder."""
    hits = [(m.group(1), m.group(2)) for m in _CONTROL.finditer(text)]
    for span in spans:
        hits += [(m.group(1), m.group(2)) for m in _CONTROL_IN_MATH.finditer(span)
                 if _ESCAPE_LETTER[m.group(1)] + m.group(2) in _KNOWN_COMMANDS]
    return [f'LaTeX command corrupted by a JSON escape: {_ESCAPE_NAME[c]} + "{rest}" '
            f'(was "\\{_ESCAPE_LETTER[c]}{rest}")' for c, rest in hits]


def latex_errors(text: str) -> list[str]:
    """Messages for unbalanced ``$``/``$$``/``\\(\\)``/``\\[\\]``, unbalanced braces or
    ``\\left``/``\\right`` inside math, commands that lost their backslash inside math
    (``$mathcal{L}$``, ``$alpha$``) and commands corrupted by JSON escapes (form feed + ``rac``)."""
    problems = []
    dollar = _dollar_error(text)
    if dollar:
        problems.append(dollar)
    for opener, closer in (("\\(", "\\)"), ("\\[", "\\]")):
        if text.count(opener) != text.count(closer):
            problems.append(f'unbalanced "{opener}" / "{closer}": '
                            f"{text.count(opener)} vs {text.count(closer)}")
    spans = [] if dollar else math_spans(text)
    for span in spans:
        problems += _span_errors(span)
    return problems + _escape_errors(text, spans)


def latex_warnings(text: str, source: str | None = None) -> list[str]:
    """Doubtful signals: braces unbalanced outside math; LaTeX commands of ``source`` missing
    from ``text`` (e.g. ``\\mathcal`` dropped or rewritten)."""
    problems = []
    prose = _SPANS.sub(" ", text)
    opened, closed = len(_OPEN_BRACE.findall(prose)), len(_CLOSE_BRACE.findall(prose))
    if opened != closed:
        problems.append(f'unbalanced braces outside math: {opened} "{{" vs {closed} "}}"')
    if source:
        present = set(_COMMAND.findall(text))
        missing = sorted(set(_COMMAND.findall(source)) - present)
        problems += [f'LaTeX command "\\{cmd}" from the source is missing' for cmd in missing]
    return problems
