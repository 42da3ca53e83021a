"""``perturbo chat --web`` in Debian's headless Chromium (selenium + /usr/bin/chromedriver):
the page opens only from the URL with the session's token (403 without it); the campaign list
loads, a question streams its answer with the store's numbers, a proposed launch waits for the
page's Confirm (declined here: nothing starts); a screenshot goes to the test's tmp folder, or
to ``$PERTURBO_SHOTS_DIR/chat_web.png`` (``PERTURBO_SHOTS_DIR=benchmarks/results`` refreshes the
shipped one). On SmolLM2-135M (always installed; see the pexpect test)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import headless_chromium, needs_chromium
from chat_helpers import HPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]


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
         "--prose-tokens", "6", "--local", "--workdir", str(tmp_path), "--answer-timeout", "600"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    deadline = time.time() + 240
    while not (m := re.search(r"open (http://127\.0\.0\.1:\d+/\?token=\S+)", log_text(tmp_path))):
        assert proc.poll() is None and time.time() < deadline, log_text(tmp_path)
        time.sleep(0.5)
    yield m.group(1), proc  # the URL with the session's token, as perturbo printed it
    proc.terminate()
    proc.wait(timeout=30)


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "web.log").read_text()


@needs_chromium
def test_web_chat_in_headless_chromium(web_chat, chat_store: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from perturbo.agents.chat.facts import fmt
    from perturbo.tracking import open_store

    url, proc = web_chat
    store = open_store(chat_store)
    best = fmt(store.summary(HPO).metrics["best_value"])
    n_before = len(store.list_campaigns())

    driver = headless_chromium(900)
    try:
        driver.get(url.split("?")[0])  # without the token: refused
        assert "403 forbidden" in driver.find_element(By.TAG_NAME, "body").text
        driver.get(url.replace("127.0.0.1", "localhost").split("=")[0] + "=wrong")
        assert "403 forbidden" in driver.find_element(By.TAG_NAME, "body").text
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
        out = Path(os.environ.get("PERTURBO_SHOTS_DIR") or tmp_path) / "chat_web.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
        assert out.stat().st_size > 10_000
        driver.find_elements(By.CSS_SELECTOR, ".pending button")[1].click()  # Decline
        wait.until(lambda d: "declined: nothing was started" in d.find_element(By.ID, "log").text)
        assert len(store.list_campaigns()) == n_before  # nothing launched
        assert proc.poll() is None
    finally:
        driver.quit()
