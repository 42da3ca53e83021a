"""An attack campaign is never silent for long: `perturbo run attack` in a child process, each
line of its stderr stamped as it arrives. The first line comes at once (well before the model
is loaded), then one line per slow step of the start (the model, its clean predictions, the
campaign's runs in a new store, the executor pool), the rounds, and a line before the final metrics and plots. It used to print
nothing until the model was loaded and the pool started (25-70 s), and nothing between the
last round and ``done`` (the plots re-attacked the model)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EPOCHS = 6  # the test CNN the attack tests share (conftest.EPOCHS)
FIRST_LINE_S = 2.0
SLACK_S = 8.0  # a busy shared box; the order of the lines is the real check


def _stamped_lines(argv: list[str], env: dict[str, str]) -> list[tuple[float, str]]:
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1, env=env
    )
    assert proc.stderr is not None
    lines = [(time.monotonic() - t0, line.rstrip()) for line in proc.stderr]
    assert proc.wait(timeout=600) == 0, "\n".join(text for _, text in lines)
    return lines


def test_attack_campaign_says_each_phase_in_order(tmp_path: Path, attack_cache: Path) -> None:
    toml = tmp_path / "attack.toml"
    toml.write_text(f'cache_dir = "{attack_cache}"\ntrain_epochs = {EPOCHS}\n')
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    lines = _stamped_lines(
        [
            str(Path(sys.executable).parent / "perturbo"), "run", "attack", "--config", str(toml),
            "--planner", "random", "--trials", "2", "--batch", "2", "--samples", "40",
            "--methods", "fgsm", "--local", "--tracking-uri", f"sqlite:///{tmp_path}/m.db",
            "--name", "phases", "--no-progress",
        ],
        env,
    )  # fmt: skip
    text = [t for _, t in lines]

    def at(prefix: str) -> int:
        found = [i for i, t in enumerate(text) if t.lstrip().startswith(prefix)]
        assert found, f"no line starting {prefix!r}:\n" + "\n".join(text)
        return found[0]

    order = [
        at("starting attack campaign 'phases'"),
        at("opening the tracking store"),
        at("preparing built-in model 'digits-cnn'"),
        at("loading model 'digits-cnn' and computing its clean predictions"),
        at("preparing the campaign's record in the tracking store"),
        at("starting the executor pool"),
        at("campaign 'phases': 0 experiments recorded"),
        at("running round 1"),
        at("2 experiments in"),  # ... recording the final metrics and drawing the plots
        at("done: 2 experiments"),
    ]
    assert order == sorted(order), "\n".join(text)
    assert order[0] == 0, f"the first line is not the start line:\n{text[0]}"
    first_s = lines[0][0]
    assert first_s < FIRST_LINE_S + SLACK_S, f"first line after {first_s:.1f} s"
