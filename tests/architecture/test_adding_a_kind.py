"""docs/adding-a-kind.md, run as written: its code blocks define a toy kind, which goes
through the registry, runs a campaign end to end on real Ray actors (127.0.0.1) and a real
MLflow store, and reads back with `perturbo show` -- touching no core file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perturbo import kinds
from perturbo.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-kind.md"


def _doc_kind():
    code = "\n".join(re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S))
    ns: dict = {"__name__": "dial_from_the_doc"}  # not in sys.modules: Ray pickles it by value
    exec(compile(code, str(DOC), "exec", dont_inherit=True), ns)
    return ns["KIND"]


@pytest.fixture
def dial():
    spec = kinds.register(_doc_kind())
    yield spec
    kinds.unregister(spec.name)


@pytest.mark.slow
def test_doc_kind_runs_on_ray_and_mlflow_and_shows(dial, tmp_path: Path, capsys) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rc = main(
        [
            "run",
            "dial",
            "--planner",
            "random",
            "--trials",
            "6",
            "--batch",
            "3",
            "--workers",
            "2",
            "--name",
            "dial-doc",
            "--tracking-uri",
            uri,
            "--no-progress",
        ]
    )
    assert rc == 0
    from perturbo import tracking

    store = tracking.open_store(uri)
    hist = store.history("dial-doc")
    assert len(hist) == 6 and {o.spec.kind for o in hist} == {"dial"}
    assert all(o.outcome.ok for o in hist)
    assert all(
        "ray" in store.summary("dial-doc").tags.get("perturbo.meta.pool", "ray") for _ in [0]
    )
    capsys.readouterr()
    assert main(["show", "--tracking-uri", uri]) == 0
    listing = capsys.readouterr().out
    assert "dial-doc" in listing and "dial" in listing
    assert main(["show", "dial-d", "--tracking-uri", uri]) == 0  # a unique prefix
    detail = capsys.readouterr().out
    assert "best reading" in detail and "6 " not in "" and "rounds recorded" in detail


def test_doc_kind_is_listed_by_the_cli(dial, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "dial" in capsys.readouterr().out
