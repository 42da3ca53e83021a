"""``perturbo chat --web`` in Debian's headless Chromium (selenium + /usr/bin/chromedriver):
the campaign list loads, a question streams its answer with the store's numbers, a proposed
launch waits for the page's Confirm (declined here: nothing starts); a screenshot goes to
``benchmarks/results/chat_web.png``. On SmolLM2-135M (always installed; see the pexpect test)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chat_helpers import HPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def web_chat(chat_store: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    port = _port()
    log = open(tmp_path / "web.log", "w+")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("perturbo")), "chat", "--web", "--port", str(port),
         "--tracking-uri", chat_store, "--llm-model", "smollm2-135m", "--llm-threads", "2",
         "--prose-tokens", "6", "--local", "--workdir", str(tmp_path)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    deadline = time.time() + 240
    while "open http://127.0.0.1" not in (tmp_path / "web.log").read_text():
        assert proc.poll() is None and time.time() < deadline, (tmp_path / "web.log").read_text()
        time.sleep(0.5)
    time.sleep(1.0)
    yield f"http://127.0.0.1:{port}", proc
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.skipif(
    CHROMIUM is None or not Path(CHROMEDRIVER).exists(),
    reason="chromium is missing: apt-get install -y chromium chromium-driver",
)
def test_web_chat_in_headless_chromium(web_chat, chat_store: str) -> None:  # type: ignore[no-untyped-def]
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from perturbo.agents.chat.facts import fmt
    from perturbo.tracking import open_store

    url, proc = web_chat
    store = open_store(chat_store)
    best = fmt(store.summary(HPO).metrics["best_value"])
    n_before = len(store.list_campaigns())

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
    ):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM  # type: ignore[assignment]
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=opts)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 240)
        wait.until(lambda d: HPO in d.find_element(By.ID, "camps").text)

        def ask(q: str) -> None:
            box = driver.find_element(By.ID, "q")
            box.send_keys(q)
            driver.find_element(By.ID, "send").click()

        ask("summarise the branin campaign")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".answer[data-done='1']"))
        answer = driver.find_elements(By.CSS_SELECTOR, ".answer")[-1].text
        assert "summarize_campaign" in answer  # the tool step is shown
        assert f"value = {best}" in answer  # the store's number

        ask(
            "launch a hyperparameter campaign on task branin with the random planner, 4 trials, batch 2"
        )
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".pending button"))
        assert len(store.list_campaigns()) == n_before
        out = ROOT / "benchmarks" / "results" / "chat_web.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
        driver.find_elements(By.CSS_SELECTOR, ".pending button")[1].click()  # Decline
        wait.until(lambda d: "declined: nothing was started" in d.find_element(By.ID, "log").text)
        assert len(store.list_campaigns()) == n_before  # nothing launched
        assert proc.poll() is None
    finally:
        driver.quit()
