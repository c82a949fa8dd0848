"""Cost of the content checks (:func:`pipeline.validate.content.content_issues`) per field.

    .venv/bin/python bench/bench_content.py [--repeat 3]

Fields: the labelled faithfulness set (210 English fields of 12 sample papers, 186 with a
Chinese source) and, when ``../shared/data`` is present, the English fields of the ZL-Asica
real digest (275 fields of 55 papers, no source). Rows: the one-time load (CC-CEDICT, lemma and
frequency tables); the mean cost per field with every cache cleared before the pass (each field
and each paper seen for the first time, as in a run) -- best of ``--repeat`` passes -- and its
split per check (the first pass also fills the libraries' own word caches, which are not
cleared: it is shown too); the mean with warm caches (the same field checked again, as the final
re-validation does). The machine's load average is printed with the table: on the shared 2-core
development machine timings vary by about 30% from minute to minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.lang import detect_language  # noqa: E402
from pipeline.parse import parse_digest  # noqa: E402
from pipeline.prompts import load_prompt  # noqa: E402
from pipeline.validate import bilingual, content, coverage, offtopic, terms_en, vocab  # noqa: E402
from pipeline.validate.offtopic import prompt_text  # noqa: E402

REAL = REPO.parent / "shared" / "data" / "real" / "ZL-Asica__daily-arXiv-digest__2025-04-26.md"
Field = tuple[str, str, str | None, str, str, str | None]


def fields() -> list[Field]:
    """(field path, English, source, abstract, title, prompt text) of every benchmarked field."""
    doc = json.loads((REPO / "tests" / "data" / "faithfulness" / "labelled.json").read_text("utf-8"))
    prompt = prompt_text(load_prompt(REPO / "prompts" / "translate-gemma-fewshot.yaml"))
    rows: list[Field] = [(i["field"], i["english"], i["source"], doc["papers"][i["paper"]]["abstract"],
                          doc["papers"][i["paper"]]["title"], prompt if i["source"] else None)
                         for i in doc["items"]]
    if REAL.is_file():
        for paper in parse_digest(REAL).papers:
            rows += [(f"translation.{name}", text, None, paper.abstract, paper.title, None)
                     for name, text in paper.fields.items()
                     if text and detect_language(text).language == "en"]
    return rows


def _clear() -> None:
    for module in (vocab, bilingual, terms_en, content, coverage, offtopic):
        for value in vars(module).values():
            if hasattr(value, "cache_clear") and value is not bilingual._table:
                value.cache_clear()


def _pass(rows: list[Field], per_check: Counter | None = None) -> float:
    start = time.perf_counter()
    for field, text, source, abstract, title, prompt in rows:
        if per_check is None:
            content.content_issues(field, text, source=source, abstract=abstract, title=title, fewshot=prompt)
            continue
        for check in content._CHECKS:
            began = time.perf_counter()
            check(field, text, source, abstract, title, prompt)
            per_check[check.__name__.removeprefix("check_")] += time.perf_counter() - began
    return (time.perf_counter() - start) / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = fields()
    start = time.perf_counter()
    bilingual._lookup("词")
    vocab.word_info("warming")
    load = time.perf_counter() - start
    cold = []
    for _ in range(args.repeat):
        _clear()
        cold.append(_pass(rows))
    warm = _pass(rows)
    _clear()
    split: Counter = Counter()
    _pass(rows, split)
    print(f"content checks, {len(rows)} fields, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"  one-time load (dictionary, lemmas, frequencies)  {load * 1000:8.0f} ms")
    print(f"  per field, first pass (nothing cached)          {cold[0] * 1000:8.3f} ms")
    print(f"  per field, cold caches (best of {args.repeat})            {min(cold) * 1000:8.3f} ms")
    print(f"  per field, warm caches                          {warm * 1000:8.3f} ms")
    for name, seconds in split.most_common():
        print(f"    {name:<26} {seconds / len(rows) * 1000:8.3f} ms")


if __name__ == "__main__":
    main()
