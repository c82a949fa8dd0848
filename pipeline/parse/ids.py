"""arXiv identifiers: one canonical form per paper, and a file name that is safe to write.

Identifier schemes (https://info.arxiv.org/help/arxiv_identifier.html):

* new style since 2007: ``YYMM.NNNN`` (to 2014) or ``YYMM.NNNNN``, optional version ``vN``;
* old style before 2007: ``archive[.SUBJ]/YYMMNNN`` (``hep-th/9901001``, ``math.GT/0309136``).

Canonical form chosen here: **no version** (a digest, its JSONL file and the output document all talk
about the paper, and the same paper is re-announced as ``v2``, ``v3``; the version stays in
``Paper.url``, which :func:`abs_url` builds from the id), no ``arXiv:`` prefix, old-style ids keep their slash (``hep-th/9901001``) and lose the
optional subject class (``math.GT/0309136`` -> ``math/0309136``, as arXiv itself resolves it).

Only ASCII digits make an id. Text is NFKC-normalized first (Unicode Standard Annex #15), which maps
what is unambiguous: full-width digits and punctuation (``２６０１．１６３０２``, ``ａｒＸｉｖ：``) become
ASCII. Other scripts' digits (Arabic-Indic ``٢٦٠١``, Devanagari ...) have no compatibility mapping
and are rejected, so the record is skipped with a warning rather than written under a name no
other tool would find. (A regex ``\\d`` matches every Unicode digit, hence ``[0-9]`` below.)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit

_NEW = re.compile(r"(?P<id>[0-9]{4}\.[0-9]{4,5})(?:v(?P<version>[0-9]+))?")
_OLD = re.compile(
    r"(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.[A-Za-z]{2})?/(?P<number>[0-9]{7})(?:v(?P<version>[0-9]+))?")
_PREFIX = re.compile(r"^arxiv\s*:\s*", re.IGNORECASE)
_URL_PATH = re.compile(r"^/(?:abs|pdf|html|format)/(?P<rest>.+?)(?:\.pdf)?/?$")
ABS_URL = "https://arxiv.org/abs/"


def normalize_arxiv_id(raw: str) -> str:
    """Return the canonical id of an arXiv identifier written any common way.

    Accepts ``2601.01234``, ``2601.01234v2``, ``arXiv:2601.01234``, ``https://arxiv.org/abs/2601.01234v3``,
    ``http://arxiv.org/pdf/2601.01234v1.pdf``, ``hep-th/9901001`` (and their URL forms), and the
    same written with full-width characters (NFKC). The result is ASCII.
    Returns e.g. ``"2601.01234"`` or ``"hep-th/9901001"``.

    Raises:
        ValueError: ``raw`` is not an arXiv identifier (the message quotes it).
    """
    return _split(raw)[0]


def abs_url(arxiv_id: str, *links: object) -> str:
    """The abstract page of a paper, built from its canonical id and nothing else the input wrote:
    ``https://arxiv.org/abs/<id>``, plus ``vN`` when the first of ``links`` (ids or URLs in any
    spelling :func:`normalize_arxiv_id` accepts) that names this paper with a version has one.

    A link that is not an arXiv id of this paper (``javascript:alert(1)``, another site) is
    ignored, so the URL written to outputs never comes from raw input.
    ``abs_url("2601.16302", "http://arxiv.org/pdf/2601.16302v2.pdf")`` ->
    ``"https://arxiv.org/abs/2601.16302v2"``.
    """
    for link in links:
        try:
            same, version = _split(str(link))
        except ValueError:
            continue
        if same == arxiv_id and version:
            return f"{ABS_URL}{arxiv_id}v{int(version)}"
    return f"{ABS_URL}{arxiv_id}"


def _split(raw: str) -> tuple[str, str | None]:
    """``(canonical id, version digits or None)`` of an id or URL; ValueError when it is neither."""
    text = _PREFIX.sub("", unicodedata.normalize("NFKC", str(raw)).strip())
    if "://" in text or text.startswith(("arxiv.org/", "www.arxiv.org/")):
        text = _path_of_url(text)
    if match := _NEW.fullmatch(text):
        return match["id"], match["version"]
    if match := _OLD.fullmatch(text):
        return f"{match['archive']}/{match['number']}", match["version"]
    raise ValueError(f"not an arXiv identifier: {raw!r}")


def _path_of_url(text: str) -> str:
    """The identifier part of an arXiv ``/abs/``, ``/pdf/`` or ``/html/`` URL (scheme optional)."""
    parts = urlsplit(text if "://" in text else "https://" + text)
    host = (parts.hostname or "").lower()
    match = _URL_PATH.match(parts.path)
    if not (host == "arxiv.org" or host.endswith(".arxiv.org")) or not match:
        raise ValueError(f"not an arXiv abs/pdf URL: {text!r}")
    return match["rest"]


#: Longest file-name stem :func:`safe_filename` returns, in bytes. Linux file systems (ext4, xfs,
#: btrfs, tmpfs) and macOS' APFS allow 255 bytes per name (NAME_MAX); the writers add ``.json``
#: and, for the temp file of an atomic write, ``.<name>.<8 random>.tmp``: 200 + 5 + 14 = 219.
MAX_STEM_BYTES = 200
_HASH_CHARS = 16  # 64 bits of SHA-256: a collision among the ids of any set of digests is not a concern


def safe_filename(arxiv_id: str) -> str:
    """Return a file-name stem for an arXiv id (caller adds the suffix, e.g. ``.json``).

    The id is normalized first, so every spelling of a paper maps to the same name; the old-style
    slash becomes ``_`` (``hep-th/9901001`` -> ``hep-th_9901001``). Canonical ids only contain
    ``[a-z0-9.-/]`` and archive names never contain ``_``, so the mapping is injective, and the result
    never contains a path separator or ``..`` and never starts with ``.``.

    A stem longer than :data:`MAX_STEM_BYTES` (only an old-style id with an absurd archive name can
    be: ``aaaa...a/9901001``) is cut and ends in ``-`` plus the first 16 hex digits of the SHA-256
    of the whole stem, exactly ``MAX_STEM_BYTES`` long. That stays deterministic and injective: a
    stem that was not cut ends in ``_`` and 7 digits or is a new-style id, never in ``-`` and 16
    hex digits at that length.

    Raises:
        ValueError: ``arxiv_id`` is not an arXiv identifier (so no name is built from arbitrary input).
    """
    stem = normalize_arxiv_id(arxiv_id).replace("/", "_")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", stem) or ".." in stem:  # defence in depth
        raise ValueError(f"unsafe file name for arXiv id {arxiv_id!r}")
    if len(stem) > MAX_STEM_BYTES:                                        # ASCII: chars == bytes
        digest = hashlib.sha256(stem.encode("ascii")).hexdigest()[:_HASH_CHARS]
        stem = f"{stem[:MAX_STEM_BYTES - _HASH_CHARS - 1]}-{digest}"
    return stem


# arXiv category taxonomy (https://arxiv.org/category_taxonomy): ``archive`` or ``archive.SUBJ``.
# Archives are lower-case words joined by one hyphen (cs, math, astro-ph, cond-mat, hep-th, q-bio,
# and the retired chao-dyn, cmp-lg ...); subject classes are two capitals (cs.CV, math.AP, q-bio.NC,
# astro-ph.GA) or, in physics and cond-mat, lower-case words (physics.optics, physics.atom-ph,
# cond-mat.mes-hall).
_CATEGORY = re.compile(r"[a-z]{1,12}(?:-[a-z]{2,8})?(?:\.(?:[A-Z]{2}|[a-z]{2,12}(?:-[a-z]{2,8})?))?")


def is_arxiv_category(name: str | None) -> bool:
    """True when ``name`` has the shape of an arXiv category name of the official taxonomy
    (https://arxiv.org/category_taxonomy: ``cs.CV``, ``math.AP``, ``astro-ph.GA``, ``hep-th``,
    ``q-bio.NC``, ``physics.optics``), ASCII only. Only such names may become Markdown anchors or
    HTML attributes; any other category is data (``cs.CV'></div><script>`` is not a category)."""
    return bool(name) and _CATEGORY.fullmatch(name) is not None and name.isascii()
