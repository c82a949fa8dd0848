"""Small multi-day archives for tests: JSONL data files in upstream's record shape, made from the
sample digest's papers, where a later day repeats papers of an earlier one with the same abstract
but freshly written Chinese text (as upstream's archive does)."""

from __future__ import annotations

import json
from pathlib import Path

from support.paths import SEED

from pipeline.parse import parse_digest


def record(paper, *, rewrite: str = "") -> dict:
    """Upstream's JSONL record of a parsed paper; ``rewrite`` is appended to each Chinese field
    (a freshly generated text for the same paper)."""
    return {"id": paper.arxiv_id, "categories": [paper.category or "cs.CV"],
            "pdf": f"https://arxiv.org/pdf/{paper.arxiv_id}", "abs": f"https://arxiv.org/abs/{paper.arxiv_id}",
            "authors": paper.authors, "title": paper.title, "comment": None, "summary": paper.abstract,
            "AI": {name: (text or "") + rewrite for name, text in paper.fields.items()}}


def write_days(folder: Path, days: dict[str, tuple[int, int]]) -> list[Path]:
    """Write ``<date>_AI_enhanced_Chinese.jsonl`` for each ``date: (first, last)`` slice of the
    sample's papers (0-based, last excluded) into ``folder``; a paper already written on an earlier
    day gets rewritten Chinese text. Returns the files, in date order."""
    papers = parse_digest(SEED).papers
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    files = []
    for day, (first, last) in sorted(days.items()):
        lines = [record(p, rewrite="（重述）" if p.arxiv_id in seen else "") for p in papers[first:last]]
        seen |= {p.arxiv_id for p in papers[first:last]}
        path = folder / f"{day}_AI_enhanced_Chinese.jsonl"
        path.write_text("".join(json.dumps(line, ensure_ascii=True) + "\n" for line in lines), encoding="utf-8")
        files.append(path)
    return files
