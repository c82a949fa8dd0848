"""File-name rules of daily-arXiv-ai-enhanced data (see ``shared/docs/DAE-SITE.md``).

Upstream's nightly job writes ``data/<date>_AI_enhanced_<Language>.jsonl`` (``LANGUAGE`` variable;
an unset one gives ``<date>_AI_enhanced_.jsonl``), converts it to ``data/<date>.md``, and some forks
keep a plain ``data/<date>.jsonl``. The site (``js/app.js``) lists only file names matching
``(\\d{4}-\\d{2}-\\d{2})_AI_enhanced_(English|Chinese)\\.jsonl`` (:data:`SITE_FILE`).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

ENGLISH_SUFFIX = "_AI_enhanced_English.jsonl"
#: What the site's file list accepts (``js/app.js``): a date, then the language Chinese or English.
SITE_FILE = re.compile(r"(\d{4}-\d{2}-\d{2})_AI_enhanced_(English|Chinese)\.jsonl")

_LANGUAGE_SUFFIX = re.compile(r"_AI_enhanced_[A-Za-z-]*$")
_EXTENSIONS = (".jsonl", ".json", ".markdown", ".md")
_DAY = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})(?:_AI_enhanced_[A-Za-z-]*\.jsonl|\.md|\.jsonl)$")


def english_file_name(input_path: str | Path) -> str:
    """The English data file's name for a digest file: the input's name without its extension and
    ``_AI_enhanced_<Language>`` suffix, plus ``_AI_enhanced_English.jsonl``.

    ``2026-06-16_AI_enhanced_Chinese.jsonl`` and ``2026-06-16.md`` both give
    ``2026-06-16_AI_enhanced_English.jsonl``; ``seed-digest.md`` gives
    ``seed-digest_AI_enhanced_English.jsonl``. Characters other than letters, digits, ``.``,
    ``_`` and ``-`` become ``_`` (the name never holds a separator or starts with a dot).
    """
    stem = Path(input_path).name
    for extension in _EXTENSIONS:
        if stem.lower().endswith(extension):
            stem = stem[: -len(extension)]
            break
    stem = _LANGUAGE_SUFFIX.sub("", stem)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "digest"
    return safe + ENGLISH_SUFFIX


def day_of(name: str | Path) -> date | None:
    """The date a daily file is for, from its name: ``<date>_AI_enhanced_<Language>.jsonl``,
    ``<date>.md`` or ``<date>.jsonl`` (``<date>`` = ``YYYY-MM-DD``, a real calendar date);
    None for any other name (``seed-digest.md``, ``2026-13-01.md``). Only the name counts, not
    the folder."""
    match = _DAY.match(Path(name).name)
    if match is None:
        return None
    try:
        return date.fromisoformat(match["date"])
    except ValueError:
        return None
