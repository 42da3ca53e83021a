"""Processes released at the same instant, after their imports: each child imports what it
needs, says it is ready (a file), then spins until the parent creates the go-file -- so the
race a test means to provoke is in the code under test, not in Python's start-up.

``python barrier.py GO READY -- perturbo ARGS...`` runs ``perturbo.cli.main(ARGS)`` once
released; :func:`release` starts n such children and lets them go together.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def wait_for_go(go: Path, ready: Path, timeout_s: float = 600.0) -> None:
    """Say ready, then spin (sub-millisecond) until ``go`` exists."""
    ready.write_text(str(os.getpid()))
    deadline = time.monotonic() + timeout_s
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("barrier: never released")
        time.sleep(0.0005)


def start(
    argvs: Sequence[Sequence[str]], folder: Path, env: dict[str, str] | None = None
) -> list[subprocess.Popen[str]]:
    """One child per argv (``perturbo`` arguments), each held at the barrier in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    go = folder / "go"
    procs = []
    for i, argv in enumerate(argvs):
        cmd = [sys.executable, str(HERE / "barrier.py"), str(go), str(folder / f"ready-{i}")]
        procs.append(
            subprocess.Popen(
                [*cmd, "--", *argv],
                cwd=folder,
                env=env or dict(os.environ),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    return procs


def release(
    procs: Sequence[subprocess.Popen[str]], folder: Path, timeout_s: float = 600.0
) -> list[tuple[int, str]]:
    """Wait until every child is ready, let them go at once; their (exit code, output)."""
    deadline = time.monotonic() + timeout_s
    while sum((folder / f"ready-{i}").exists() for i in range(len(procs))) < len(procs):
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise AssertionError(f"a child died before the barrier:\n{dead[0].stdout.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError("children never got ready")
        time.sleep(0.05)
    (folder / "go").touch()
    out = []
    for p in procs:
        text, _ = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        out.append((p.returncode, text))
    return out


if __name__ == "__main__":
    go_file, ready_file, sep, *args = sys.argv[1:]
    assert sep == "--"
    import perturbo.cli  # the imports happen before the barrier
    import perturbo.tracking  # noqa: F401

    wait_for_go(Path(go_file), Path(ready_file))
    sys.exit(perturbo.cli.main(args))
