"""Reading a digest file into text and telling Markdown from JSONL by content.

Everything that makes a file unusable as a whole raises :class:`~pipeline.errors.InputError` with one
line: missing file, a directory, an empty or binary file, an encoding that is not UTF-8 (a UTF-8 or
UTF-16 byte-order mark is honoured), an HTML page. CRLF and lone CR line ends become ``\\n``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.errors import InputError

_HTML = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)


@dataclass(frozen=True)
class SourceText:
    """A digest file's text (BOM removed, ``\\n`` line ends) and whether its last line is complete."""

    path: Path
    text: str
    ends_with_newline: bool

    @property
    def lines(self) -> list[str]:
        """The lines without their ``\\n`` (a final ``\\n`` does not make an extra empty line)."""
        body = self.text[:-1] if self.ends_with_newline else self.text
        return body.split("\n")


def read_source(path: str | Path) -> SourceText:
    """Read ``path`` as text.

    Raises:
        InputError: the file is missing, a directory, unreadable, empty, binary or not UTF-8/UTF-16.
    """
    file = Path(path)
    if not file.exists():
        raise InputError(file, "no such file")
    if file.is_dir():
        raise InputError(file, "is a directory, not a digest file")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(file, f"cannot read file: {exc.strerror or exc}") from exc
    text = _decode(file, data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(file, "file is empty")
    return SourceText(file, text, text.endswith("\n"))


def _decode(file: Path, data: bytes) -> str:
    """Decode UTF-8 (BOM optional) or BOM-marked UTF-16; reject binary data and other encodings."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(file, "invalid UTF-16 text") from exc
    if b"\x00" in data[:65536]:
        raise InputError(file, "binary file (contains NUL bytes), not a digest")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(file, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                         line=line) from exc


def detect_kind(source: SourceText) -> Literal["markdown", "jsonl"]:
    """``jsonl`` when the text starts with a JSON object with a key (``{"``), else ``markdown``.

    Raises:
        InputError: the text is an HTML page.
    """
    head = source.text.lstrip()[:4096]
    if _HTML.search(head):
        raise InputError(source.path, "HTML page, not a digest (save the Markdown or JSONL file instead)")
    return "jsonl" if re.match(r'\{\s*"', head) else "markdown"
