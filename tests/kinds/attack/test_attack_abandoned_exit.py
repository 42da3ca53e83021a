"""A `--local` attack campaign whose experiments time out exits with its one-line error and
code 2. Its timed-out threads were abandoned while inside torch; the interpreter used to end
them at exit mid-call, and the process aborted (``terminate called without an active
exception``, exit 134)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EPOCHS = 6  # the test CNN the attack tests share (conftest.EPOCHS)


def test_timed_out_local_campaign_exits_2_not_134(tmp_path: Path, attack_cache: Path) -> None:
    toml = tmp_path / "attack.toml"
    toml.write_text(f'cache_dir = "{attack_cache}"\ntrain_epochs = {EPOCHS}\n')
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [
        str(Path(sys.executable).parent / "perturbo"), "run", "attack", "--config", str(toml),
        "--samples", "300", "--trials", "6", "--experiment-timeout", "0.02", "--no-escalate",
        "--local", "--no-progress", "--tracking-uri", f"sqlite:///{tmp_path}/m.db",
        "--name", "timeouts",
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    err = proc.stderr
    assert proc.returncode == 2, err
    assert "terminate called" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("perturbo: error:")]
    assert len(errors) == 1 and "timed out after 0.02 s" in errors[0], err
    assert "Traceback" not in err, err
