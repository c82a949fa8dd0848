"""arXiv id normalization and safe file names (pipeline.parse.ids)."""

from pathlib import Path

import pytest

from pipeline.parse.ids import normalize_arxiv_id, safe_filename


@pytest.mark.parametrize("raw, expected", [
    ("2601.16272", "2601.16272"),
    ("2601.01234v2", "2601.01234"),
    ("  2601.01234v12 ", "2601.01234"),
    ("arXiv:2501.90061", "2501.90061"),
    ("ARXIV: 2501.90061v3", "2501.90061"),
    ("https://arxiv.org/abs/2601.16272", "2601.16272"),
    ("http://arxiv.org/abs/2501.90061v2", "2501.90061"),
    ("http://arxiv.org/pdf/2501.90061v3.pdf", "2501.90061"),
    ("https://arxiv.org/pdf/2501.90091v1", "2501.90091"),
    ("https://export.arxiv.org/abs/2601.16272?context=cs#x", "2601.16272"),
    ("arxiv.org/html/2601.16272v1/", "2601.16272"),
    ("0704.0001", "0704.0001"),                       # first new-style id (4-digit number)
    ("hep-th/9901001", "hep-th/9901001"),
    ("hep-th/9901001v2", "hep-th/9901001"),
    ("https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001"),
    ("math.GT/0309136", "math/0309136"),              # subject class is not part of the id
    ("cond-mat/0102536", "cond-mat/0102536"),
])
def test_normalize_accepts_common_spellings(raw, expected):
    assert normalize_arxiv_id(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "not-an-id", "2601.123", "2601.1234567", "../../etc/passwd", "hep-th/../../x",
    "https://example.com/abs/2601.16272", "https://arxiv.org/list/cs.CV/recent", "2601.16272/../x",
    "HEP-TH/9901001",
])
def test_normalize_rejects_non_ids(raw):
    with pytest.raises(ValueError, match="arXiv"):
        normalize_arxiv_id(raw)


def test_normalize_is_idempotent():
    for raw in ("2601.01234v2", "hep-th/9901001v1", "arXiv:2501.90061"):
        once = normalize_arxiv_id(raw)
        assert normalize_arxiv_id(once) == once


@pytest.mark.parametrize("arxiv_id, stem", [
    ("2601.16272", "2601.16272"),
    ("hep-th/9901001", "hep-th_9901001"),
    ("2601.01234v2", "2601.01234"),
    ("arXiv:math.GT/0309136", "math_0309136"),
])
def test_safe_filename(arxiv_id, stem):
    assert safe_filename(arxiv_id) == stem


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/abs/path", "..", "a/b/c", "hep-th/../x", ""])
def test_safe_filename_refuses_anything_that_is_not_an_id(bad):
    with pytest.raises(ValueError):
        safe_filename(bad)


def test_safe_filename_stays_inside_the_directory(tmp_path: Path):
    ids = ["2601.16272", "hep-th/9901001", "hep-th/9901002", "hep/9901001", "math/0309136"]
    stems = [safe_filename(i) for i in ids]
    assert len(set(stems)) == len(ids)                   # injective on distinct ids
    for stem in stems:
        target = (tmp_path / f"{stem}.json").resolve()
        assert target.parent == tmp_path.resolve()
        assert "/" not in stem and "\\" not in stem and ".." not in stem
