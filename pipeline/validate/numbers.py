"""Number extraction shared by the translation and summary checks.

:func:`extract_number_tokens` finds the figures in Chinese, Japanese/Korean-with-digits or English
text and gives each a canonical form, so that a figure and its translation compare equal:

=========================  =====================  =========================================
kind                       canonical              examples that produce it
=========================  =====================  =========================================
``plain``                  ``30000``, ``0.002``   ``3万``, ``30,000``, ``30k``, ``30 thousand``, ``p值<0.002``
``percent``                ``90%``                ``90%``, ``９０％``, ``百分之九十``, ``90 percent``, ``ninety per cent``
``points``                 ``15.3pp``             ``15.3个百分点``, ``15.3 percentage points``
``times``                  ``1.72x``              ``1.72倍``, ``1.72x``, ``1.72×``, ``1.72 times``, ``1.72-fold``, ``doubles`` (2x)
``ratio``                  ``3:1``                ``3:1``, ``3：1``
``fraction``               ``1/3``                ``1/3``, ``三分之一``, ``one third``
=========================  =====================  =========================================

Signs are dropped, trailing zeros are normalised (``1.50`` -> ``1.5``), full-width digits and
``，`` thousands separators are folded by NFKC, and a range suffix applies to both ends
(``0-100%`` -> ``0%`` and ``100%``; ``2-10倍`` -> ``2x`` and ``10x``).

Not numbers: digits inside identifiers (``GPT-4o``, ``Qwen2.5-7B``, ``ImageNet-1K``, ``F1``; the
terms check covers those) and list markers (``1.``, ``(2)``, ``3）``, ``①``).

Each token records its ``origin``: ``digits``; ``cjk`` (Chinese numerals such as ``三``, ``十二``,
``两``; single ``一``, ordinals after ``第``, approximate ``数十`` and idioms such as ``十分``/``二元``
are ``cjk_weak``); ``word`` (English number words ``two`` ... ``ninety``, ``double``, ``half``);
``word_weak`` (``one``, ``single``, ``both``, ordinals, month names); ``ident`` (the digits of an
identifier: ``4`` in ``GPT-4o``, so that ``GPT 4o`` in a translation is not an invented ``4``).
Weak and ``ident`` origins only count as *available* forms when matching, never as figures that
must be reproduced.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Iterable

__all__ = [
    "NumberToken",
    "extract_number_tokens",
    "extract_numbers",
    "parse_cjk_int",
    "token_matches",
    "approx_matches",
    "NUMBER_WORDS",
]


@dataclass(frozen=True)
class NumberToken:
    """One figure: ``canonical`` form, ``value`` (None for ratio/fraction), ``kind``, ``origin``,
    ``raw`` text as written (after NFKC), and ``unit`` = the value of its last written digit (for
    rounding tolerance: ``1.7`` -> 0.1, ``10k`` -> 1000)."""

    canonical: str
    value: Decimal | None
    kind: str
    origin: str
    raw: str
    unit: Decimal = Decimal(1)

    @property
    def required(self) -> bool:
        """Strong origins are figures a translation must carry over."""
        return self.origin in ("digits", "cjk")


# --------------------------------------------------------------------------- vocabulary

_CJK_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
               "六": 6, "七": 7, "八": 8, "九": 9}
_CJK_UNITS = {"十": 10, "百": 100, "千": 1000}
_CJK_CHARS = "零〇一二两三四五六七八九十百千万亿"
_CJK_IDIOMS = ("十分", "二元", "二分", "二次", "三角", "三元", "四元", "两两", "一一", "四舍", "五入",
               "五花", "八门", "八方", "九死", "十足", "十字", "一般")
_CJK_IDIOM_OK = ("十分钟", "十分之")
_APPROX_BEFORE = "数几若"
_APPROX_AFTER = "几"

_MULTIPLIERS = {
    "万亿": Decimal(10) ** 12, "千亿": Decimal(10) ** 11, "百亿": Decimal(10) ** 10,
    "十亿": Decimal(10) ** 9, "亿": Decimal(10) ** 8, "千万": Decimal(10) ** 7,
    "百万": Decimal(10) ** 6, "十万": Decimal(10) ** 5, "万": Decimal(10) ** 4, "千": Decimal(1000),
    "thousand": Decimal(1000), "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9,
    "trillion": Decimal(10) ** 12, "hundred": Decimal(100),
    "k": Decimal(1000), "m": Decimal(10) ** 6, "b": Decimal(10) ** 9,
}

_WORD_VALUES = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_WORD_VALUES.update({w: 10 * i for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)})
_WORD_VALUES.update({"hundred": 100, "thousand": 1000, "dozen": 12})
del _WORD_VALUES["one"]  # "one of", "one-shot": too common to be a figure; see _WEAK_WORDS
_ORDINALS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(),
    start=1)}
_MONTHS = {w: i for i, w in enumerate(
    "january february march april may june july august september october november december"
    .split(), start=1)}
_WEAK_WORDS = {"one": 1, "single": 1, "once": 1, "both": 2, "pair": 2, "dual": 2}
_TIMES_WORDS = {"double": 2, "doubles": 2, "doubled": 2, "doubling": 2, "twice": 2,
                "twofold": 2, "triple": 3, "triples": 3, "tripled": 3, "tripling": 3,
                "thrice": 3, "threefold": 3, "quadruple": 4, "quadrupled": 4,
                "fourfold": 4, "fivefold": 5, "tenfold": 10, "hundredfold": 100}
_FRACTION_WORDS = {"half": ("1/2", Decimal(50)), "halves": ("1/2", Decimal(50)),
                   "halved": ("1/2", Decimal(50)), "halving": ("1/2", Decimal(50)),
                   "quarter": ("1/4", Decimal(25)), "third": ("1/3", None)}

# --------------------------------------------------------------------------- patterns

# Every pattern a scan starts with begins with a character class (``\d\d*``, not ``\d+``): the
# re module then skips ahead to candidate characters instead of trying each position in turn.
# ``_NUM`` = ``\d+(?:,\d{3})+(?![\d,])(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d{1,2}(?![\d.]))?``
# with the digit run factored out (the thousands branch can only match after the whole run).
_NUM = r"\d\d*(?:(?:,\d{3})+(?![\d,])(?:\.\d+)?|(?:\.\d+)?(?:[eE][-+]?\d{1,2}(?![\d.]))?)"
_MUL = (r"万亿|千亿|百亿|十亿|亿|千万|百万|十万|万|千(?![米克瓦])"
        r"|\s?(?:thousand|million|billion|trillion|hundred)\b|[kKMB](?![A-Za-z0-9])")
_KIND = (r"(?P<pp>个?百分点|\s?percentage[\s-]points?\b|\s?pp\b)"
         r"|(?P<pct>\s?%|\s?per\s?cent\b)"
         r"|(?P<x>倍|\s?×|x(?![A-Za-z0-9])|X(?![A-Za-z0-9])|[\s-]?fold\b|\s(?:times)\b)")
_SUFFIX_RE = re.compile(rf"(?P<mul>{_MUL})?(?:{_KIND})?")
_DIGIT_RE = re.compile(_NUM)
_RANGE_TAIL_RE = re.compile(rf"\s*(?:-|–|—|~|～|to|至|到)\s*({_NUM})")
_IDENT_RE = re.compile(  # a Latin-initial token with a digit somewhere: GPT-4o, Qwen2.5-7B, F1
    r"(?<![A-Za-z0-9])[A-Za-z](?=[A-Za-z0-9._-]*\d)[A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")
_IDENT_DIGITS_RE = re.compile(r"\d+(?:\.\d+)?")
_MARKER_CANDIDATE_RE = re.compile(  # ``\(\s*\d{1,2}\s*\)|\d{1,2}(?:[).、](?!\d))``, class first
    r"[(\d](?:(?<=\()\s*\d{1,2}\s*\)|(?<=\d)\d?(?:[).、](?!\d)))")
_MARKER_BREAK = set(":;!?。；：，、\n")
_CIRCLED_RE = re.compile("[\u2460-\u2473\u24f5-\u24fe\u2776-\u277f]")
_PERCENT_CJK_RE = re.compile(rf"百分之(?P<n>[{_CJK_CHARS}]+|\d+(?:\.\d+)?)")
_FRACTION_CJK_RE = re.compile(rf"(?P<d>[{_CJK_CHARS}]+|\d+)分之(?P<n>[{_CJK_CHARS}]+|\d+)")
_RATIO_FRACTION_RE = re.compile(r"(?P<a>\d\d*(?:\.\d+)?)(?P<sep>[:/])(?P<b>\d+(?:\.\d+)?)")
_CJK_RUN_RE = re.compile(rf"[{_CJK_CHARS}][{_CJK_CHARS}]*")
_ALPHA_RE = re.compile(r"[A-Za-z]+")
_DIGIT_RUN_RE = re.compile(r"\d\d*")
_SPACE_RE = re.compile(r"\s")
_FIGURE_AFTER_RE = re.compile(r"\s+\d")  # "may 2024": the month, not the verb
_UNIT_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_UNIT_WORD_RE = re.compile(rf"-({'|'.join(_UNIT_WORDS)})(?![A-Za-z])", re.I)
_NUMBER_WORDS = frozenset({*_WORD_VALUES, *_ORDINALS, *_MONTHS, *_WEAK_WORDS, *_TIMES_WORDS,
                           *_FRACTION_WORDS})
#: Every English word the extractor reads as a figure ("two", "twice", "half", "third", "may").
NUMBER_WORDS = _NUMBER_WORDS | {"million", "billion", "trillion", "hundreds", "thousands",
                                "millions", "billions", "halves", "dozens"}


# --------------------------------------------------------------------------- helpers

def _dec(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None


def _fmt(value: Decimal) -> str:
    """Canonical decimal text: no exponent, no trailing zeros (``1.50`` -> ``1.5``)."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _unit(raw: str, multiplier: Decimal) -> Decimal:
    digits = raw.replace(",", "").split("e")[0].split("E")[0]
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return Decimal(1).scaleb(-decimals) * multiplier


def _make(value: Decimal, kind: str, origin: str, raw: str, unit: Decimal = Decimal(1)) -> NumberToken:
    value = abs(value)
    suffix = {"plain": "", "percent": "%", "points": "pp", "times": "x"}[kind]
    return NumberToken(_fmt(value) + suffix, value, kind, origin, raw, unit)


def _suffix(text: str, pos: int) -> tuple[Decimal, str, int]:
    """Multiplier, kind and end position of the suffix that starts at ``pos``."""
    m = _SUFFIX_RE.match(text, pos)
    mul = m.group("mul")
    multiplier = _MULTIPLIERS[mul.strip().lower()] if mul else Decimal(1)
    kind = next((k for k, g in (("points", "pp"), ("percent", "pct"), ("times", "x"))
                 if m.group(g)), "plain")
    return multiplier, kind, m.end()


def _inside_number(text: str, start: int) -> bool:
    """True when a digit run at ``start`` continues a number (``1.5``, ``1,281``)."""
    before = text[start - 1:start]
    return before.isdigit() or before == "." or (before == "," and text[start - 2:start - 1].isdigit())


def parse_cjk_int(text: str) -> int | None:
    """Value of a Chinese numeral (``三`` 3, ``十二`` 12, ``两`` 2, ``一百零五`` 105, ``三千万``
    30,000,000, ``二〇二四`` 2024); None for malformed runs (``三四``, ``一一``)."""
    if len(text) > 1 and all(c in _CJK_DIGITS for c in text):
        return int("".join(str(_CJK_DIGITS[c]) for c in text)) if set(text) & {"零", "〇"} else None
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in ("零", "〇"):
            digit = None
        elif ch in _CJK_DIGITS:
            if digit is not None:
                return None
            digit = _CJK_DIGITS[ch]
        elif ch in _CJK_UNITS:
            section += (1 if digit is None else digit) * _CJK_UNITS[ch]
            digit = None
        elif ch == "万":
            total, section, digit = total + (section + (digit or 0) or 1) * 10**4, 0, None
        else:  # 亿
            total, section, digit = (total + section + (digit or 0) or 1) * 10**8, 0, None
    return total + section + (digit or 0)


class _Scanner:
    """Collects tokens from a working copy of the text; consumed spans are blanked after each
    pass so later passes cannot read them again."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.work = text
        self.spans: list[tuple[int, int]] = []
        self.tokens: list[tuple[int, NumberToken]] = []

    def add(self, pos: int, token: NumberToken | None) -> None:
        if token is not None:
            self.tokens.append((pos, token))

    def consume(self, start: int, end: int) -> None:
        self.spans.append((start, end))

    def flush(self) -> None:
        """Blank the spans consumed by the pass that just ran."""
        if self.spans:
            pieces, done = [], 0
            for start, end in sorted(self.spans):
                start = max(start, done)  # spans may overlap
                if end > start:
                    pieces += (self.work[done:start], " " * (end - start))
                    done = end
            pieces.append(self.work[done:])
            self.work = "".join(pieces)
            self.spans = []


# --------------------------------------------------------------------------- passes

def _marker_style(work: str, m: re.Match[str]) -> str | None:
    """Style of a list-marker candidate: ``paren`` for ``(1)`` not glued to a word; ``close`` /
    ``dot`` for ``1)`` / ``1.`` / ``1、`` at the start, after a line break or CJK/clause
    punctuation, or after ``". "``/``"; "``. None when the context rules it out."""
    start = m.start()
    before = work[start - 1:start]
    if m.group()[0] == "(":
        return "paren" if not before or not (before.isalnum() or before in "._") else None
    if _inside_number(work, start):
        return None
    style = "close" if m.group()[-1] == ")" else "dot"
    head = work[:start].rstrip(" \t")
    if not head or head[-1] in _MARKER_BREAK:
        return style
    separators = ":;,.!?" if style == "close" else ":;.!?"
    return style if head[-1] in separators and len(head) < start else None


def _digit_chunks(work: str) -> list[tuple[int, int]]:
    """Spans of ``work`` that hold every identifier with a digit: from the space, tab or line
    break before each digit run to the whitespace after it, overlapping spans merged. An
    identifier (:data:`_IDENT_RE`) has a digit and no whitespace, so it lies inside one of them;
    scanning these spans finds what a scan of the whole text finds, at the cost of the digits."""
    chunks: list[tuple[int, int]] = []
    for m in _DIGIT_RUN_RE.finditer(work):
        if chunks and m.start() < chunks[-1][1]:
            continue
        start = max(work.rfind(" ", 0, m.start()), work.rfind("\t", 0, m.start()),
                    work.rfind("\n", 0, m.start())) + 1
        space = _SPACE_RE.search(work, m.end())
        end = space.start() if space else len(work)
        if chunks and start <= chunks[-1][1]:
            start = chunks.pop()[0]
        chunks.append((start, end))
    return chunks


def _pass_masks(sc: _Scanner) -> None:
    """Blank identifiers with digits (``GPT-4o``, ``F1``; their digit runs become ``ident``
    tokens) and list markers -- candidates that form a sequence (``1.`` ... ``2.``;
    ``(1)`` ... ``(2)``), so a lone ``(8)`` stays a figure."""
    idents = [m for start, end in _digit_chunks(sc.work) for m in _IDENT_RE.finditer(sc.work, start, end)]
    for m in idents:
        for part in _IDENT_DIGITS_RE.finditer(m.group()):
            sc.add(m.start() + part.start(), _make(_dec(part.group()), "plain", "ident", part.group()))
        sc.consume(m.start(), m.end())
    candidates = []
    for m in _MARKER_CANDIDATE_RE.finditer(sc.work):
        style = _marker_style(sc.work, m)
        if style:
            candidates.append((style, int(re.sub(r"\D", "", m.group())), m))
    present = {(style, n) for style, n, _ in candidates}
    for style, n, m in candidates:
        if (style, n - 1) in present or (style, n + 1) in present:
            sc.consume(m.start(), m.end())


def _pass_cjk_percent_fraction(sc: _Scanner) -> None:
    if "百分之" in sc.work:
        for m in _PERCENT_CJK_RE.finditer(sc.work):
            n = m.group("n")
            value = _dec(n) if n[0].isdigit() else parse_cjk_int(n)
            if value is not None:
                sc.add(m.start(), _make(Decimal(value), "percent", "cjk", m.group()))
                sc.consume(m.start(), m.end())
        sc.flush()
    if "分之" in sc.work:
        for m in _FRACTION_CJK_RE.finditer(sc.work):
            d, n = (g if g.isdigit() else parse_cjk_int(g) for g in (m.group("d"), m.group("n")))
            if d and n is not None:
                sc.add(m.start(), NumberToken(f"{n}/{d}", None, "fraction", "cjk", m.group()))
                sc.consume(m.start(), m.end())


def _pass_ratios_fractions(sc: _Scanner) -> None:
    """``3:1`` (ratio; its sides also count as plain numbers) and ``1/3`` (fraction)."""
    if ":" not in sc.work and "/" not in sc.work:
        return
    for m in _RATIO_FRACTION_RE.finditer(sc.work):
        after = sc.work[m.end():m.end() + 1]
        if _inside_number(sc.work, m.start()) or sc.work[m.start() - 1:m.start()] in (":", "/") \
                or (after and (after.isdigit() or after in ":/")):
            continue
        kind, sep = ("ratio", ":") if m.group("sep") == ":" else ("fraction", "/")
        a, b = _fmt(_dec(m.group("a"))), _fmt(_dec(m.group("b")))
        sc.add(m.start(), NumberToken(f"{a}{sep}{b}", None, kind, "digits", m.group()))
        for g in ("a", "b"):
            sc.add(m.start(g), _make(_dec(m.group(g)), "plain", "digits", m.group(g)))
        sc.consume(m.start(), m.end())


def _range_tokens(work: str, m: re.Match[str]) -> tuple[list[NumberToken], int] | None:
    """``A-B<suffix>``: the suffix of B (%, 倍, 万, ...) applies to A as well."""
    tail = _RANGE_TAIL_RE.match(work, m.end())
    if not tail:
        return None
    multiplier, kind, end = _suffix(work, tail.end())
    if kind == "plain" and multiplier == 1:
        return None
    return [_make(_dec(raw) * multiplier, kind, "digits", raw, _unit(raw, multiplier))
            for raw in (m.group(), tail.group(1))], end


def _pass_digits(sc: _Scanner) -> None:
    """Numbers written with digits, with their suffix (multiplier, %, x, pp) and ranges."""
    work, skip_until = sc.work, -1
    for m in _DIGIT_RE.finditer(work):
        if m.start() < skip_until or _inside_number(work, m.start()):
            continue
        raw = m.group()
        multiplier, kind, end = _suffix(work, m.end())
        ranged = _range_tokens(work, m) if kind == "plain" and multiplier == 1 else None
        if ranged:
            tokens, end = ranged
            skip_until = end
        else:
            tokens = [_make(_dec(raw) * multiplier, kind, "digits", work[m.start():end].strip(),
                            _unit(raw, multiplier))]
        for token in tokens:
            sc.add(m.start(), token)
        sc.consume(m.start(), end)


def _cjk_origin(text: str, start: int, end: int, value: int) -> str:
    """``cjk`` for a real quantity, ``cjk_weak`` for 一, ordinals, approximations and idioms."""
    before, after = text[start - 1:start], text[end:end + 1]
    window = text[start:end + 2]
    if value == 1 or (before and before in "第无" + _APPROX_BEFORE) or (after and after in _APPROX_AFTER):
        return "cjk_weak"
    if any(window.startswith(i) for i in _CJK_IDIOMS) and not any(
            window.startswith(ok) for ok in _CJK_IDIOM_OK):
        return "cjk_weak"
    return "cjk"


def _pass_cjk_numerals(sc: _Scanner) -> None:
    for m in _CJK_RUN_RE.finditer(sc.work):
        run = m.group()
        if run[0] not in _CJK_DIGITS and run[0] != "十":
            continue
        value = parse_cjk_int(run)
        if value is None:
            continue
        multiplier, kind, end = _suffix(sc.work, m.end())
        origin = _cjk_origin(sc.work, m.start(), m.end(), value)
        sc.add(m.start(), _make(Decimal(value) * multiplier, kind, origin, sc.work[m.start():end]))
        sc.consume(m.start(), end)


def _word_token(word: str, unit_word: str | None) -> tuple[Decimal, str, str] | None:
    """(value, kind, origin) of one English number word, or None."""
    if word in _WORD_VALUES:
        value = _WORD_VALUES[word] + (_UNIT_WORDS.index(unit_word) + 1 if unit_word else 0)
        return Decimal(value), "plain", "word"
    if word in _TIMES_WORDS:
        return Decimal(_TIMES_WORDS[word]), "times", "word"
    for table in (_WEAK_WORDS, _ORDINALS, _MONTHS):
        if word in table:
            return Decimal(table[word]), "plain", "word_weak"
    return None


def _number_word_spans(work: str) -> list[tuple[int, int]]:
    """(start, end) of the runs of ASCII letters (:data:`_ALPHA_RE`) that are number words, any
    case, in order. ASCII text (where lowering keeps every position) is first checked for which
    number words occur at all; only those are looked up, so a text with none costs one
    ``findall`` rather than a Python step per word."""
    if not work.isascii():
        return [m.span() for m in _ALPHA_RE.finditer(work) if m.group().lower() in _NUMBER_WORDS]
    lowered = work.lower()
    spans = []
    for word in _NUMBER_WORDS.intersection(_ALPHA_RE.findall(lowered)):
        start = lowered.find(word)
        while start >= 0:
            end = start + len(word)
            if not lowered[start - 1:start].isalpha() and not lowered[end:end + 1].isalpha():
                spans.append((start, end))
            start = lowered.find(word, end)
    return sorted(spans)


def _pass_words(sc: _Scanner) -> None:
    """English number words: ``two``, ``twenty-five``, ``ninety percent``, ``ten thousand``,
    ``doubles`` (2x), ``half`` (1/2, 50%), weak ``one``/``both``/``first``/``February``."""
    work, skip_until = sc.work, -1
    for start, stop in _number_word_spans(work):
        if start < skip_until:
            continue
        written = work[start:stop]
        word = written.lower()
        if word in _FRACTION_WORDS:
            frac, pct = _FRACTION_WORDS[word]
            sc.add(start, NumberToken(frac, None, "fraction", "word_weak", written))
            if pct is not None:
                sc.add(start, _make(pct, "percent", "word_weak", written))
        unit = _UNIT_WORD_RE.match(work, stop) if word in _WORD_VALUES else None
        found = _word_token(word, unit.group(1).lower() if unit else None)
        if found is None or (word == "may" and not _FIGURE_AFTER_RE.match(sc.text, stop)):
            continue
        value, kind, origin = found
        multiplier, suffix_kind, end = _suffix(work, unit.end() if unit else stop)
        if kind == "plain" and origin == "word" and (multiplier != 1 or suffix_kind != "plain"):
            value, kind = value * multiplier, suffix_kind
        else:
            end = unit.end() if unit else stop
        sc.add(start, _make(value, kind, origin, work[start:end]))
        skip_until = end


# --------------------------------------------------------------------------- public API

_ASCII_PASSES = (_pass_masks, _pass_ratios_fractions, _pass_digits, _pass_words)
_ALL_PASSES = (_pass_masks, _pass_cjk_percent_fraction, _pass_ratios_fractions, _pass_digits,
               _pass_cjk_numerals, _pass_words)


@lru_cache(maxsize=4096)
def _extract(text: str) -> tuple[NumberToken, ...]:
    normalised = text if text.isascii() else unicodedata.normalize("NFKC", _CIRCLED_RE.sub(" ", text))
    sc = _Scanner(normalised)
    for step in _ASCII_PASSES if normalised.isascii() else _ALL_PASSES:
        step(sc)
        sc.flush()
    return tuple(tok for _, tok in sorted(sc.tokens, key=lambda pair: pair[0]))


def extract_number_tokens(text: str | None) -> tuple[NumberToken, ...]:
    """All figures in ``text`` in reading order (see the module docstring). Cached, pure."""
    if not text or not isinstance(text, str):
        return ()
    return _extract(text)


def extract_numbers(text: str | None) -> set[str]:
    """Canonical forms of the figures a reader would expect a translation to keep.

    Strong origins only (digits and Chinese numerals that denote a quantity): ``"3万人，提升90%"``
    -> ``{"30000", "90%"}``; ``"两个数据集"`` -> ``{"2"}``; ``"一种方法"`` -> ``set()``.
    """
    return {tok.canonical for tok in extract_number_tokens(text) if tok.required}


def token_matches(required: NumberToken, available: Iterable[NumberToken]) -> bool:
    """True if ``required`` is rendered by one of ``available`` (exact value, compatible kind).

    Compatible: same kind; ``times`` <-> ``plain`` (``2倍`` may read "by a factor of 2");
    ``percent`` <-> ``points``; a ratio whose two sides both appear as plain numbers.
    """
    pool = list(available)
    if required.kind in ("ratio", "fraction"):
        if any(a.canonical == required.canonical for a in pool):
            return True
        if required.kind == "fraction":
            return False
        sides = {Decimal(s) for s in required.canonical.split(":")}
        return sides <= {a.value for a in pool if a.value is not None}
    return any(a.value == required.value and _compatible(required.kind, a.kind) for a in pool)


_COMPATIBLE = {("times", "plain"), ("plain", "times"), ("percent", "points"),
               ("points", "percent"), ("points", "plain")}


def _compatible(want: str, have: str) -> bool:
    return want == have or (want, have) in _COMPATIBLE


def approx_matches(claimed: NumberToken, available: Iterable[NumberToken]) -> bool:
    """True if ``claimed`` (a figure in a summary) is supported by one of ``available``.

    Lenient: the value may be a rounding of a source figure to the digits written (``90%`` for
    ``90.3%``, ``1.7x`` for ``1.72x``, ``1.2 million`` for ``1,234,567``); kinds are ignored except
    that a percentage also matches the same fraction (``90%`` ~ ``0.9``).
    """
    if claimed.value is None:
        return any(a.canonical == claimed.canonical for a in available)
    tolerance = claimed.unit / 2
    for a in available:
        if a.value is None:
            continue
        candidates = [a.value]
        if claimed.kind == "percent" and a.kind == "plain":
            candidates.append(a.value * 100)
        if claimed.kind == "plain" and a.kind == "percent":
            candidates.append(a.value / 100)
        if any(abs(c - claimed.value) <= tolerance for c in candidates):
            return True
    return False
