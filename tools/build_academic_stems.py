"""Build ``pipeline/validate/data/academic_stems.txt``: the word stems of research-abstract prose.

The content checks (:mod:`pipeline.validate.content`) treat a word whose stem is here as ordinary
research vocabulary ("framework", "robustness", "benchmark") that a faithful translation may use
even when the paper's own abstract does not. Source: the abstracts and titles of every distinct
paper in the upstream archive (``../shared/data/archive/*.jsonl``, 3,287 papers of cs.* days),
none of them a sample-digest paper. A stem is kept when at least ``--min-share`` of the papers
(default 1%) use a word with that stem (Snowball English stemmer, lower case, ASCII letters).

Usage: ``.venv/bin/python tools/build_academic_stems.py [--archive DIR] [--min-share 0.01]``
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import snowballstemmer

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "pipeline" / "validate" / "data" / "academic_stems.txt"


def document_frequencies(archive: Path) -> tuple[int, Counter[str]]:
    """(papers read, stem -> number of papers whose abstract or title uses it)."""
    stemmer = snowballstemmer.stemmer("english")
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    for path in sorted(archive.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict) or record.get("id") in seen:
                continue
            seen.add(record.get("id"))
            text = f"{record.get('title') or ''} {record.get('summary') or ''}".lower()
            counts.update({stemmer.stemWord(w) for w in re.findall(r"[a-z]+", text)})
    return len(seen), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=REPO.parent / "shared" / "data" / "archive")
    parser.add_argument("--min-share", type=float, default=0.01)
    args = parser.parse_args()
    papers, counts = document_frequencies(args.archive)
    stems = sorted(s for s, c in counts.items() if c >= args.min_share * papers and len(s) > 1)
    header = (f"# stems used by >= {args.min_share:.0%} of {papers} archive abstracts "
              "(tools/build_academic_stems.py); one a line\n")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(header + "\n".join(stems) + "\n", encoding="utf-8")
    print(f"{len(stems)} stems from {papers} papers -> {OUT}")


if __name__ == "__main__":
    main()
