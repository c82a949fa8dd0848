"""Regenerate ``docs/report.png``: ``report.html`` of the sample digest, run with the fake provider,
as headless Chromium shows it (1280x1600 viewport, top of the page).

    .venv/bin/python docs/report_screenshot.py [OUTPUT.png]

Needs Debian's ``chromium`` and ``chromium-driver`` and Selenium (dev extra); a CJK font
(``apt-get install fonts-wqy-zenhei``) makes the Chinese source column readable.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the browser set-up the report test uses

from support.browser import chromium  # noqa: E402

from pipeline.app import RunOptions, execute_run  # noqa: E402


def main(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = execute_run(REPO / "samples" / "seed-digest.md",
                             RunOptions(config=REPO / "config.yaml", provider="fake",
                                        out_dir=Path(tmp) / "out", cache_dir=Path(tmp) / "cache"))
        driver = chromium(Path(tmp) / "profile")
        try:
            driver.get((result.out_dir / "report.html").as_uri())
            driver.save_screenshot(str(target))
        finally:
            driver.quit()
    print(f"wrote {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "report.png")
