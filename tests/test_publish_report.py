"""``report.html``: self-contained, autoescaped, every paper with its fields and issues; and, in a
real headless Chromium, the filters work and a ``<script>`` title stays text.

The browser test keeps its screenshot in the test's tmp folder (``report.png``, printed).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from markupsafe import escape
from support.cli import fake_options, run_cli
from support.paths import CONFIG, REPO
from support.browser import chromium


RECORDS = REPO / "tests" / "data" / "publish" / "records.jsonl"
SCRIPT_TITLE = "<script>window.injected = 1</script> & <b>Bold</b> Claims"


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    """A fake run of the test records plus one paper whose title holds a script: its output folder."""
    tmp = tmp_path_factory.mktemp("report")
    lines = RECORDS.read_text(encoding="utf-8").splitlines()
    extra = json.loads(lines[0]) | {"id": "2501.90309", "title": SCRIPT_TITLE,
                                    "abs": "https://arxiv.org/abs/2501.90309"}
    (tmp / "day.jsonl").write_text("\n".join([*lines, json.dumps(extra)]) + "\n", encoding="utf-8")
    result = run_cli("run", tmp / "day.jsonl", *fake_options(tmp),
                     "--set", "providers.fake.settings.responder=support.responders:echo_some_fields")
    assert result.exit_code in (0, 1), result.output
    return tmp / "out" / "day"


def _papers(out: Path) -> list[dict]:
    return json.loads((out / "digest.json").read_text(encoding="utf-8"))["papers"]


def test_report_is_self_contained_and_escaped(report_run: Path) -> None:
    page = (report_run / "report.html").read_text(encoding="utf-8")
    assert "<script>window.injected" not in page
    assert "&lt;script&gt;window.injected = 1&lt;/script&gt; &amp; &lt;b&gt;Bold&lt;/b&gt; Claims" in page
    assert page.count("<script") == 1  # the page's own inline script, nothing else
    assert not re.search(r"<(?:link|img|iframe)\b|<script[^>]*\bsrc=|@import|url\(", page)
    external = set(re.findall(r'(?:href|src)="(https?://[^"]+)"', page))
    assert external == {p["url"] for p in _papers(report_run)}  # only the papers' own arXiv links


def test_report_lists_every_paper_field_and_issue(report_run: Path) -> None:
    page = (report_run / "report.html").read_text(encoding="utf-8")
    papers = _papers(report_run)
    assert page.count('<article class="paper"') == len(papers) == 4
    run = json.loads((report_run / "run.json").read_text(encoding="utf-8"))
    assert f"<dt>model calls</dt><dd>{run['model_calls']:,}</dd>" in page
    first = papers[0]
    section = page[page.index(f'id="paper-{first["arxiv_id"]}"'):page.index('id="paper-2501.90302"')]
    assert first["source"]["tldr"]["text"] in section and first["translation"]["tldr"] in section
    for issue in first["validation"]["issues"]:
        assert f'<li class="issue {issue["severity"]}">' in section and str(escape(issue["message"])) in section
    assert 'data-status="failed"' in section and f'data-value="length"' in page


def test_report_in_a_real_browser(report_run: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    papers = _papers(report_run)
    driver = chromium(tmp_path / "profile")
    try:
        driver.get((report_run / "report.html").as_uri())
        articles = driver.find_elements(By.CSS_SELECTOR, "article.paper")
        assert len(articles) == len(papers) and all(a.is_displayed() for a in articles)
        assert driver.execute_script("return window.injected === undefined")
        title = driver.find_element(By.CSS_SELECTOR, "#paper-2501\\.90309 h2 a").text
        assert title == SCRIPT_TITLE
        failed = {p["arxiv_id"] for p in papers if p["validation"]["status"] == "failed"}
        assert 0 < len(failed) < len(papers)
        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="status"][data-value="failed"]').click()
        shown = {a.get_attribute("id").removeprefix("paper-") for a in articles if a.is_displayed()}
        assert shown == failed
        assert driver.find_element(By.ID, "shown").text == f"{len(failed)} shown"
        driver.save_screenshot(str(tmp_path / "report-failed.png"))
        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="status"][data-value=""]').click()
        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="check"][data-value="source_failed"]').click()
        with_check = {p["arxiv_id"] for p in papers if any(i["check"] == "source_failed" for i in p["validation"]["issues"])}
        assert {a.get_attribute("id").removeprefix("paper-") for a in articles if a.is_displayed()} == with_check
        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="check"][data-value=""]').click()
        assert all(a.is_displayed() for a in articles)
        assert driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()
    print(f"screenshots: {tmp_path / 'report.png'}, {tmp_path / 'report-failed.png'}")
    assert (tmp_path / "report.png").stat().st_size > 10_000
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def test_a_rejected_answer_is_shown_as_rejected_not_as_the_english(report_run: Path) -> None:
    page = (report_run / "report.html").read_text(encoding="utf-8")
    (paper,) = [p for p in _papers(report_run) if p["arxiv_id"] == "2501.90301"]
    rejected = paper["validation"]["rejected"]["translation.result"]
    assert paper["translation"]["result"] is None
    assert f'<div class="rejected"><span class="severity">rejected answer</span> {escape(rejected)}</div>' in page
