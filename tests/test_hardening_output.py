"""Hardening of the writers: file names within limits, no HTML or script in the outputs."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.cli import fake_options, run_cli
from markdown_it import MarkdownIt

from pipeline.models import Digest, Paper
from pipeline.output.markdown import render_markdown
from pipeline.output.writer import paper_path
from pipeline.parse import parse_digest
from pipeline.parse.ids import MAX_STEM_BYTES, is_arxiv_category, safe_filename



# --------------------------------------------------------------------------- 3: file names within limits

LONG_OLD_STYLE = "a" * 5000 + "/9901001"


def test_long_id_gets_a_short_deterministic_hashed_name() -> None:
    stem = safe_filename(LONG_OLD_STYLE)
    assert len(stem.encode()) == MAX_STEM_BYTES
    assert stem == safe_filename(LONG_OLD_STYLE + "v3") == safe_filename(f"arXiv:{LONG_OLD_STYLE}")
    assert stem.startswith("a" * 100) and stem[-17] == "-" and all(c in "0123456789abcdef" for c in stem[-16:])


def test_long_ids_that_share_a_prefix_get_different_names() -> None:
    names = {safe_filename("a" * 5000 + f"/990100{n}") for n in range(10)}
    names |= {safe_filename("a" * 5000 + "-b/9901001"), safe_filename("a" * 4999 + "/9901001")}
    assert len(names) == 12 and all(len(n) == MAX_STEM_BYTES for n in names)


@pytest.mark.parametrize("arxiv_id", ["2601.16302", "hep-th/9901001", "a" * (MAX_STEM_BYTES - 8) + "/9901001"])
def test_ids_within_the_limit_keep_their_plain_name(arxiv_id: str) -> None:
    assert safe_filename(arxiv_id) == arxiv_id.replace("/", "_")


def test_run_writes_a_5000_character_id_under_a_short_name(repo: Path, tmp_path: Path) -> None:
    records = [{"id": LONG_OLD_STYLE, "title": "Long", "summary": "We study L.", "AI": {"tldr": "一个摘要。"}},
               {"id": "2601.16304", "title": "C", "summary": "We study C.", "AI": {"tldr": "一个摘要。"}}]
    digest = tmp_path / "long.jsonl"
    digest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    result = run_cli("run", digest, *fake_options(tmp_path))
    assert result.exit_code in (0, 1) and "error:" not in result.output, result.output[-500:]
    out = tmp_path / "out" / "long"
    files = sorted(p.name for p in (out / "papers").iterdir())
    assert files == sorted([paper_path(out, LONG_OLD_STYLE).name, "2601.16304.json"])
    assert all(len(name.encode()) <= MAX_STEM_BYTES + len(".json") for name in files)
    doc = json.loads(paper_path(out, LONG_OLD_STYLE).read_text(encoding="utf-8"))
    assert doc["arxiv_id"] == LONG_OLD_STYLE                       # the document keeps the whole id
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["papers"] == 2


# --------------------------------------------------------------------------- 4: no HTML or script in outputs

SCRIPT = "<script>alert(1)</script>"
BAD_CATEGORY = f"cs.CV'></div>{SCRIPT}"
HOSTILE_MD = f"""### [1] [</details>{SCRIPT}](https://arxiv.org/abs/2501.90001)
*[Click](javascript:alert(1)),<img src=x onerror=alert(1)>*

Main category: {BAD_CATEGORY}

TL;DR: 一个摘要。<img src=x onerror=alert(2)>

<details>
  <summary>Details</summary>
Method: 方法。[x](javascript:alert(3))

Abstract: We show that $a<b$ & $c>d$ hold. <img src=x onerror=alert(4)> ![p](javascript:alert(5))

</details>

### [2] [An Ordinary Paper](https://arxiv.org/abs/2501.90002)
*Author A*

Main category: cs.CL

TL;DR: 一个摘要。

<details>
  <summary>Details</summary>
Abstract: An ordinary abstract with M&Ms and p<0.002.

</details>
"""
HOSTILE_RECORDS = [
    {"id": "2501.90003", "abs": "javascript:alert(1)", "pdf": "javascript:alert(1)", "title": f"</details>{SCRIPT}",
     "authors": ["[Click](javascript:alert(1))", "<img src=x onerror=alert(1)>"], "categories": [BAD_CATEGORY],
     "summary": "We show $a<b$ & more. <img src=x onerror=alert(1)>", "AI": {"tldr": f"一个摘要。{SCRIPT}"}},
    {"id": "2501.90004", "abs": "https://evil.example/abs/2501.90004v9", "title": "Ordinary", "authors": ["A"],
     "categories": ["cs.CL"], "summary": "An ordinary abstract.", "AI": {"tldr": "一个摘要。"}},
]


class _Markup(HTMLParser):
    """Every tag and attribute of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _page_markup(markdown: str) -> list[tuple[str, dict[str, str | None]]]:
    """The tags a site gets from the Markdown (CommonMark with raw HTML allowed, as GitHub pages do)."""
    parser = _Markup()
    parser.feed(MarkdownIt("commonmark", {"html": True}).render(markdown))
    return parser.tags


def _hostile_inputs(tmp_path: Path) -> list[Path]:
    md = tmp_path / "hostile.md"
    md.write_text(HOSTILE_MD, encoding="utf-8")
    jsonl = tmp_path / "hostile.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in HOSTILE_RECORDS), encoding="utf-8")
    return [md, jsonl]


@pytest.mark.parametrize("kind", ["md", "jsonl"])
def test_hostile_digest_gives_an_english_digest_without_markup(repo: Path, tmp_path: Path, kind: str) -> None:
    digest = tmp_path / f"hostile.{kind}"
    _hostile_inputs(tmp_path)
    result = run_cli("run", digest, *fake_options(tmp_path))
    assert result.exit_code in (0, 1), result.output
    out = tmp_path / "out" / "hostile"
    english = (out / "digest.en.md").read_text(encoding="utf-8")
    tags = _page_markup(english)
    assert {tag for tag, _ in tags} <= {"div", "h1", "h3", "p", "a", "em", "ul", "li", "details", "summary"}
    assert not any(name.startswith("on") for _, attrs in tags for name in attrs)
    hrefs = [attrs["href"] for tag, attrs in tags if tag == "a"]
    assert all(h.startswith(("https://arxiv.org/abs/", "#")) for h in hrefs), hrefs
    assert all(h in ("#toc", "#cs.CL") for h in hrefs if h.startswith("#"))
    assert [attrs.get("id") for tag, attrs in tags if tag == "div"] == ["toc", "cs.CL"]
    assert english.count("<details>") == english.count("</details>") == 2
    assert "javascript:" not in "".join(hrefs) and "<script" not in english and "<img" not in english
    assert "&lt;/details&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in english      # kept, as text
    assert "$a&lt;b$ &amp;" in english


@pytest.mark.parametrize("kind", ["md", "jsonl"])
def test_hostile_links_never_become_the_url(tmp_path: Path, kind: str) -> None:
    _hostile_inputs(tmp_path)
    papers = parse_digest(tmp_path / f"hostile.{kind}").papers
    assert [p.url for p in papers] == [f"https://arxiv.org/abs/{p.arxiv_id}" for p in papers]
    assert papers[0].category == BAD_CATEGORY                      # kept as data


def test_render_english_escapes_and_the_seed_round_trip_does_not(repo: Path) -> None:
    digest = parse_digest(repo / "samples" / "seed-digest.md")
    raw = render_markdown(digest)
    assert "(p-values <0.002)" in raw and "M&Ms" in raw             # upstream writes them raw
    escaped = render_markdown(digest, escape=True)
    assert "(p-values &lt;0.002)" in escaped and "M&amp;Ms" in escaped and "<0.002" not in escaped
    assert escaped.count("<details>") == raw.count("<details>") == 129


def test_url_and_anchors_are_safe_even_without_escaping() -> None:
    paper = Paper(arxiv_id="2501.90001", url="javascript:alert(1)", title="T", section=BAD_CATEGORY,
                  category=BAD_CATEGORY, fields={"tldr": "t"})
    text = render_markdown(Digest(path="x.md", papers=[paper], categories=[BAD_CATEGORY]))
    assert "](https://arxiv.org/abs/2501.90001)" in text and "javascript" not in text
    assert "<div id='cs.CV" not in text and "(#cs.CV" not in text and "# cs.CV'&gt;" in text
    assert f"- cs.CV'&gt;&lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt; [Total: 1]" in text


@pytest.mark.parametrize("name, ok", [
    ("cs.CV", True), ("math.AP", True), ("astro-ph.GA", True), ("hep-th", True), ("q-bio.NC", True),
    ("physics.optics", True), ("cond-mat.mes-hall", True), (BAD_CATEGORY, False), ("cs.CV ", False),
    ("Uncategorized", False), ("", False), (None, False), ("cs CV", False), ("cs.CV#x", False)])
def test_arxiv_category_names(name: str | None, ok: bool) -> None:
    assert is_arxiv_category(name) is ok
