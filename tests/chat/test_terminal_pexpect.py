"""``perturbo chat`` in a pseudo-terminal on the embedded model, against a real store.

SmolLM2-135M (``--llm-model smollm2-135m``) because it is always installed and small enough
for CI on a shared CPU; its prose is weak, which is the point: the numbers must come from
the tools whatever the model writes. Qwen 1.5B runs in ``benchmarks/chat.py``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from chat_helpers import GEN, HPO

pexpect = pytest.importorskip("pexpect")
pytestmark = [pytest.mark.slow, pytest.mark.llm, pytest.mark.timeout(900)]

PERTURBO = str(Path(sys.executable).with_name("perturbo"))


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def test_chat_in_a_terminal_lists_summarises_and_waits_for_confirmation(
    chat_store: str, tmp_path: Path
) -> None:
    from perturbo.agents.chat.facts import fmt
    from perturbo.tracking import open_store

    store = open_store(chat_store)
    hpo, gen = store.summary(HPO), store.summary(GEN)
    best = fmt(hpo.metrics["best_value"])  # e.g. 10.87, read from MLflow
    hits = fmt(gen.metrics["hits_total"])
    n_before = len(store.list_campaigns())

    env = {**os.environ, "OMP_NUM_THREADS": "1", "TERM": "dumb"}
    child = pexpect.spawn(
        PERTURBO,
        ["chat", "--tracking-uri", chat_store, "--llm-model", "smollm2-135m", "--llm-threads", "2",
         "--prose-tokens", "6", "--local", "--workdir", str(tmp_path)],
        env=env, encoding="utf-8", timeout=240, dimensions=(50, 400),
    )  # fmt: skip
    try:
        child.expect("you> ", timeout=300)

        child.sendline("list the campaigns")
        child.expect(r"2 campaigns in ")
        child.expect("you> ")
        listing = child.before
        assert HPO in listing and GEN in listing
        assert f"best value = {best}" in listing  # the real number, from the store
        assert f"{hits} hits in 32 experiments" in listing

        child.sendline("summarise the branin campaign")
        child.expect(r"summarize_campaign")
        child.expect("you> ")
        summary = child.before
        assert f"value = {best}" in summary
        assert "8 experiments" in summary

        child.sendline(
            "launch a hyperparameter campaign on task branin with the random planner, 4 trials, batch 2"
        )
        child.expect(r"Run this\? .*\[y/N\] ")
        assert _children(child.pid) == []  # proposed, not started
        child.sendline("n")
        child.expect("declined: nothing was started")
        child.expect("you> ")
        time.sleep(1)
        assert _children(child.pid) == []
        assert len(store.list_campaigns()) == n_before  # nothing launched

        child.sendline("/quit")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        child.close(force=True)
