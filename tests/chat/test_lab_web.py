"""A lab's round through ``perturbo chat --web`` in Debian's headless Chromium (issue 19, the
web bar): "what should we test next in L?" shows the pending batch; the lab's results CSV is
attached with "here are the results for L", previewed (results to record, hits under the
campaign's rule, what stays pending) with nothing recorded; Confirm records the round once and
shows the next batch with a download link for its sheet. The screenshot goes to the test's
tmp folder, or to ``$PERTURBO_SHOTS_DIR/lab_web.png`` (``PERTURBO_SHOTS_DIR=benchmarks/results``
refreshes the shipped one; a plain run leaves the work tree as it was). The page's server loads SmolLM2-135M (always installed);
the lab turns route by their words, so the model does not choose them."""

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from loop_helpers import recorded, results, score, sheet_genes, start_args  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]


def _shot(tmp_path: Path) -> Path:
    return Path(os.environ.get("PERTURBO_SHOTS_DIR") or tmp_path) / "lab_web.png"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab_web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from perturbo.cli import main

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=3)) == 0
    port = _port()
    log_path = tmp_path / "web.log"
    log = open(log_path, "w+")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("perturbo")), "chat", "--web", "--port", str(port),
         "--tracking-uri", uri, "--llm-model", "smollm2-135m", "--llm-threads", "2",
         "--prose-tokens", "0", "--local", "--workdir", str(tmp_path / "work"),
         "--answer-timeout", "600"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    deadline = time.time() + 240
    while not (m := re.search(r"open (http://127\.0\.0\.1:\d+/\?token=\S+)", log_path.read_text())):
        assert proc.poll() is None and time.time() < deadline, log_path.read_text()
        time.sleep(0.5)
    yield m.group(1), uri, tmp_path
    proc.terminate()
    proc.wait(timeout=30)


@needs_chromium
def test_upload_preview_confirm_next_batch_in_chromium(lab_web, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, uri, tmp = lab_web
    genes = sheet_genes(tmp / "L-round1.csv")
    csv_path = results(tmp / "plate-1-results.csv", genes)
    hits = [g for g in genes if score(g) >= 2]

    driver = headless_chromium(1000)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 240)
        wait.until(lambda d: "genetic" in d.find_element(By.ID, "camps").text)

        def last_answer() -> str:
            return driver.find_elements(By.CSS_SELECTOR, ".answer")[-1].text

        driver.find_element(By.ID, "q").send_keys("what should we test next in L?")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".answer[data-done='1']")) >= 1)
        shown = last_answer()
        assert "pending_batch" in shown and "waiting for results of round 1: 8 genes" in shown
        assert all(g in shown for g in genes)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".answer a.sheet"))  # its CSV

        driver.find_element(By.ID, "attach").send_keys(str(csv_path))
        driver.find_element(By.ID, "q").send_keys("here are the results for L")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".pending button"))
        preview = last_answer()
        assert "plate-1-results.csv" in driver.find_element(By.ID, "log").text
        assert f"8 results to record (hit rule score>=2), {len(hits)} hits" in preview
        assert "0 of the batch stay pending" in preview and all(h in preview for h in hits)
        assert recorded(uri) == []  # nothing recorded before the confirmation

        driver.find_elements(By.CSS_SELECTOR, ".pending button")[0].click()  # Confirm
        wait.until(
            lambda d: (
                "Next batch: waiting for results of round 2" in d.find_element(By.ID, "log").text
            )
        )
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "a.sheet")) >= 2)
        assert [g for _, g in recorded(uri)] == genes  # the round, recorded once
        second = [g for g in _pending_genes(uri) if g in driver.find_element(By.ID, "log").text]
        assert len(second) == 8 and not set(second) & set(genes)
        shot = _shot(tmp_path)
        shot.parent.mkdir(parents=True, exist_ok=True)
        driver.execute_script("document.getElementById('log').scrollTop = 0")
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        buttons = driver.find_elements(By.CSS_SELECTOR, ".pending button")
        assert all(not b.is_enabled() for b in buttons[:2])  # one confirmation per preview
    finally:
        driver.quit()


def _pending_genes(uri: str) -> list[str]:
    from perturbo import tracking
    from perturbo.lab import read_pending

    store = tracking.open_store(uri)
    pending = read_pending(store.client, store.parent_run_id("L"))
    return [str(s.params["gene"]) for s in pending.specs]
