"""A headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by Selenium, offline.

``.ci/run`` installs the two packages with apt when they are missing; elsewhere a test that needs
them is skipped (:func:`support.requirements.missing`; a failure in CI). Selenium is given both
binaries, so its manager never tries to download a browser or a driver (the network is closed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from support.requirements import missing, require_module

#: No sandbox (CI runs as root), no GPU, /tmp instead of a small /dev/shm, and nothing that
#: reaches the network on start (component updates, sync, first-run pages).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--window-size=1280,1600")


def chromium(profile: Path):
    """A Selenium Chrome driver on Debian's chromium with a fresh profile in ``profile``; the
    caller quits it."""
    require_module("selenium", "pip install -e '.[dev]'")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        missing("chromium / chromium-driver not installed (apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
