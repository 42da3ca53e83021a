"""``perturbo resume`` keeps the pool its campaign was started with: a campaign started with
``--local`` (recorded as the parent run's ``perturbo.meta.pool``) resumes in this process with
its ``--workers``, not on a Ray it never used, unless the resume names a pool itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import perturbo.actors as actors
from perturbo.cli import main
from perturbo.types import PerturboError


def _pools(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every pool opened: its arguments; a Ray pool is refused (no Ray in this test)."""
    opened: list[dict[str, Any]] = []
    real = actors.open_pool

    def open_pool(factory: Any, **kw: Any) -> Any:
        opened.append(kw)
        if not kw.get("local"):
            raise PerturboError("test: this would start Ray")
        return real(factory, **kw)

    monkeypatch.setattr(actors, "open_pool", open_pool)
    return opened


def test_a_local_campaign_resumes_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    opened = _pools(monkeypatch)
    run = ["run", "hyperparameter", "--task", "branin", "--planner", "random", "--trials", "2",
           "--batch", "1", "--local", "--workers", "2", "--name", "loc", "--no-progress",
           "--tracking-uri", uri]  # fmt: skip
    assert main(run) == 0
    assert main(["resume", "loc", "--trials", "3", "--no-progress", "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    assert "starting the executor pool (Ray)" not in err, err
    assert "ran with --local: resuming it in this process" in err
    assert [(p["local"], p["workers"]) for p in opened] == [(True, 2), (True, 2)]
    # a pool named on the command line wins
    assert main(["resume", "loc", "--trials", "4", "--address", "auto", "--no-progress",
                 "--tracking-uri", uri]) == 2  # fmt: skip
    assert opened[-1]["local"] is False and "this would start Ray" in capsys.readouterr().err
