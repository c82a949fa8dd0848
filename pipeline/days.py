"""Which digests a ``run DIGEST...`` processes, in which order.

Each argument is a digest file, or a folder (a checkout of a site's ``data/``, an archive). From a
folder, per date (the file-name rule of :func:`pipeline.publish.names.day_of`): the
``<date>_AI_enhanced_<Language>.jsonl`` whose language is not English (Chinese first when a day
has several), else the day's ``<date>.md``. Raw crawl files (``<date>.jsonl``: no ``AI``), our own
English data files and other files are left out, each named with the reason. A file given
explicitly is always taken. Days run in date order; files whose name holds no date follow, in the
order given. Shell globs are expanded by the shell, or here when quoted.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.errors import InputError
from pipeline.publish.names import ENGLISH_SUFFIX, day_of

_PREFERRED_LANGUAGES = ("Chinese",)
"""A day with data files in several languages is translated from these first."""


@dataclass(frozen=True)
class DayInput:
    """One digest to run: its ``path`` and ``day`` (None: no date in its name)."""

    path: Path
    day: date | None


@dataclass
class DaySelection:
    """The digests to run, in order, and the files left out with why (``path: reason`` lines)."""

    days: list[DayInput] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def select_days(arguments: list[str | Path]) -> DaySelection:
    """The digests ``arguments`` name (module docstring). InputError for an argument that names
    nothing (no such file, folder or glob match) or a folder with no digest in it."""
    selection = DaySelection()
    explicit: list[Path] = []
    for argument in arguments:
        paths = _expand(argument)
        for path in paths:
            if path.is_dir():
                _add_folder(path, selection)
            else:
                explicit.append(path)
    selection.days += [DayInput(p, day_of(p.name)) for p in explicit]
    unique = {d.path.resolve(): d for d in selection.days}
    dated = sorted((d for d in unique.values() if d.day is not None), key=lambda d: (d.day, d.path.name))
    undated = [d for d in unique.values() if d.day is None]
    selection.days = dated + undated
    return selection


def _expand(argument: str | Path) -> list[Path]:
    path = Path(argument)
    if path.exists():
        return [path]
    matches = sorted(glob.glob(str(argument)))
    if not matches:
        raise InputError(path, "no such file or folder (and no file matches it as a pattern)")
    return [Path(m) for m in matches]


def _add_folder(folder: Path, selection: DaySelection) -> None:
    """The day files of ``folder`` (not its subfolders) into ``selection``."""
    by_day: dict[date, list[Path]] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        day = day_of(path.name)
        reason = _not_a_digest(path, day)
        if reason:
            selection.skipped.append(f"{path}: {reason}")
        elif day is not None:
            by_day.setdefault(day, []).append(path)
    if not by_day:
        raise InputError(folder, "no digest in this folder (<date>_AI_enhanced_<Language>.jsonl or <date>.md)")
    for day, paths in by_day.items():
        chosen = _choose(paths)
        selection.days.append(DayInput(chosen, day))
        selection.skipped += [f"{p}: {chosen.name} is used for {day}" for p in paths if p != chosen]


def _not_a_digest(path: Path, day: date | None) -> str | None:
    """Why a file of a folder is not one of its days' digests, or None."""
    if day is None:
        return "not a daily digest name (<date>_AI_enhanced_<Language>.jsonl or <date>.md)"
    if path.name.endswith(ENGLISH_SUFFIX):
        return "an English data file (our own output)"
    if path.suffix == ".jsonl" and "_AI_enhanced_" not in path.name:
        return "a raw crawl file (no AI summaries)"
    return None


def _choose(paths: list[Path]) -> Path:
    """A day's digest among its files: a non-English data file (preferred languages first), else
    the Markdown digest."""
    def rank(path: Path) -> tuple[int, str]:
        if path.suffix == ".jsonl":
            language = path.stem.rsplit("_AI_enhanced_", 1)[-1]
            return (0 if language in _PREFERRED_LANGUAGES else 1), path.name
        return 2, path.name
    return min(paths, key=rank)
