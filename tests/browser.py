"""Debian's headless Chromium for the tests that drive a real browser (the web chat, the lab's
upload page, ``perturbo ui``): where it is, and one way to start it. Missing (``apt-get
install -y chromium chromium-driver``), those tests skip and say why."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = CHROMIUM is None or not Path(CHROMEDRIVER).exists()
needs_chromium = pytest.mark.skipif(
    MISSING, reason="chromium is missing: apt-get install -y chromium chromium-driver"
)


def headless_chromium(height: int = 1000) -> Any:
    """A started headless Chromium (selenium's driver; the caller quits it)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size=1400,{height}"):  # fmt: skip
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM  # type: ignore[assignment]
    return webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=opts)
