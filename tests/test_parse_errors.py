"""Inputs that are not digests raise one clear InputError line (exit code 2)."""

from pathlib import Path

import pytest
from support.paths import shared
from support.requirements import missing

from pipeline.errors import InputError
from pipeline.parse import parse_digest

HERE = Path(__file__).resolve().parent / "data" / "parse"


@pytest.mark.parametrize("name, message", [
    ("does-not-exist.md", "no such file"),
    ("empty.md", "file is empty"),
    ("binary.md", "binary file"),
    ("latin1.md", "not UTF-8 text (byte 0xe9"),
    ("page.html", "HTML page"),
    ("not-a-digest.md", "not a digest"),
    ("reading-list.md", "not a digest"),
    ("not-papers.jsonl", "not a digest data file"),
])
def test_bad_input_raises_one_line(name, message):
    path = HERE / name
    with pytest.raises(InputError) as caught:
        parse_digest(path)
    error = caught.value
    assert message in str(error)
    assert "\n" not in str(error)
    assert error.path == path and error.exit_code == 2
    assert str(error).startswith(str(path))


def test_encoding_error_points_at_the_line():
    with pytest.raises(InputError) as caught:
        parse_digest(HERE / "latin1.md")
    assert caught.value.line == 13
    assert str(caught.value).startswith(f"{HERE / 'latin1.md'}:13: ")


def test_directory_is_refused():
    with pytest.raises(InputError, match="is a directory"):
        parse_digest(HERE)


def test_unreadable_file(monkeypatch):
    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(InputError, match="cannot read file: Permission denied"):
        parse_digest(HERE / "crlf-bom.md")


@pytest.mark.parametrize("name", ["07-latex-backslash-in-json.txt", "08-latex-valid-escape-corruption.txt",
                                  "10-wrong-language-and-bad-translations.json",
                                  "11-truncated-finish-length.json", "17-code-fenced-json.txt"])
def test_model_reply_files_are_not_digests(name):
    path = shared("synthetic", name)
    if not path.exists():
        missing(f"shared data not available: {path}")
    with pytest.raises(InputError, match="not a digest"):
        parse_digest(path)
