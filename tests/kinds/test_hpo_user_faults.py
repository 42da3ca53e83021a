"""A user's objective under ASHA and mf-bo (perturbo/kinds/hyperparameter/executor.py,
trial_budget.py, rung_link.py): a crash of it is one FAILED trial, not a dead driver; ASHA
and ``--max-epochs`` are refused where they could not work, before any trial runs; a
rejected result keeps the metrics it did return; the recorded savings claim only what the
function reported."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from perturbo import tracking
from perturbo.cli import main
from perturbo.kinds.hyperparameter.compose import build
from perturbo.kinds.hyperparameter.executor import HyperparameterExecutor, epoch_savings
from perturbo.kinds.hyperparameter.rung_link import link_rungs
from perturbo.kinds.hyperparameter.tasks import UserTask
from perturbo.space import SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, PerturboError, Status

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0}}
SPACE_EP = {**SPACE, "epochs": {"type": "int", "low": 1, "high": 27}}


@pytest.fixture
def user_mod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "faults_fn.py").write_text(
        textwrap.dedent(
            """
            import os, sys

            def exits(params, report):
                if params["x"] > 0.5:
                    sys.exit(1)
                for e in range(1, 28):
                    if not report(e, params["x"]):
                        break
                return {"val_acc": params["x"], "pid": os.getpid()}

            def no_report(params):
                return {"val_acc": params["x"]}
            """
        )
    )
    (tmp_path / "s.toml").write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_sys_exit_under_asha_local_is_one_failed_trial_in_a_child(
    user_mod: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(user_mod))
    store = f"sqlite:///{user_mod / 'm.db'}"
    argv = ["run", "hyperparameter", "--task", "faults_fn:exits", "--allow-user-code",
            "--space", str(user_mod / "s.toml"), "--objective", "val_acc", "--direction", "max",
            "--planner", "random", "--asha", "--max-epochs", "9", "--trials", "6", "--batch",
            "2", "--local", "--no-progress", "--name", "faults", "--tracking-uri", store]  # fmt: skip
    rc = main(argv)  # without the fix: SystemExit(1) from the user's function
    assert rc in (0, None)
    _, history = tracking.load_history(store, "faults")
    failed = [o for o in history if o.outcome.status is Status.FAILED]
    done = [o for o in history if o.outcome.status in (Status.COMPLETED, Status.PRUNED)]
    assert failed and all("sys.exit(1)" in o.outcome.error for o in failed)
    assert done and all(o.outcome.metrics["pid"] != os.getpid() for o in done)  # in a child
    assert all(len(o.outcome.intermediate) <= 9 for o in done)  # --max-epochs caps a trial


class _Keeper:
    """A rung keeper that stops every trial at epoch 2 and remembers what it heard."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, int, float]] = []

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        self.heard.append((trial_id, epoch, value))
        return epoch < 2


def test_a_child_reports_to_the_drivers_rungs(tmp_path: Path) -> None:
    keeper = _Keeper()
    link = link_rungs(keeper)
    assert link_rungs(keeper) is link  # one server per keeper
    (tmp_path / "link.pkl").write_bytes(pickle.dumps(link))
    code = (
        "import pickle, sys; link = pickle.load(open(sys.argv[1], 'rb')); "
        "print([link.report('t1', e, 0.5) for e in (1, 2)])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "link.pkl")],
        capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])},
    )  # fmt: skip
    assert out.stdout.strip() == "[True, False]"
    assert keeper.heard == [("t1", 1, 0.5), ("t1", 2, 0.5)]


def test_asha_is_refused_for_a_function_without_report(user_mod: Path) -> None:
    cfg = {"task": "faults_fn:no_report", "allow_user_code": True, "space": SPACE,
           "objective": "val_acc", "direction": "max", "asha": True, "max_epochs": 9}  # fmt: skip
    with pytest.raises(PerturboError) as e:
        build(cfg)
    for w in ("--asha", "report(epoch, value)", "no_report(params, report)", "--max-epochs 9"):
        assert w in str(e.value), (w, str(e.value))
    build({**cfg, "task": "faults_fn:exits"})  # one that takes report builds


def test_asha_is_refused_with_an_epochs_parameter_in_the_space(user_mod: Path) -> None:
    with pytest.raises(PerturboError, match=r"--asha .* own 'epochs' parameter \(up to 27\)"):
        build({"task": "faults_fn:exits", "allow_user_code": True, "space": SPACE_EP,
               "objective": "val_acc", "direction": "max", "asha": True, "max_epochs": 9})  # fmt: skip


def test_mf_bo_refuses_max_epochs_the_space_overrides(user_mod: Path) -> None:
    cfg = {"task": "faults_fn:exits", "allow_user_code": True, "space": SPACE_EP,
           "objective": "val_acc", "direction": "max", "planner": "mf-bo", "max_epochs": 9}  # fmt: skip
    with pytest.raises(PerturboError, match=r"--max-epochs 9 and --space's 'epochs' \(up to 27\)"):
        build(cfg)
    build({**cfg, "max_epochs": 27})  # the two agree: nothing to refuse
    build({**cfg, "max_epochs": None})


def _executor(fn, rungs=None, max_epochs: int = 0) -> HyperparameterExecutor:  # noqa: ANN001
    task = UserTask("t:f", SearchSpace.from_dict(SPACE), "val_acc", "max", max_epochs, _fn=fn)
    return HyperparameterExecutor(task, rungs)


@pytest.mark.parametrize(
    "result, error",
    [
        ({"val_accuracy": 0.9, "loss": 0.2}, "no 'val_acc' metric"),
        ({"val_acc": math.nan, "val_accuracy": 0.9, "loss": 0.2}, "'val_acc' is nan"),
    ],
)
def test_a_rejected_result_keeps_the_metrics_it_returned(result, error) -> None:  # noqa: ANN001
    out = _executor(lambda params: dict(result)).run(ExperimentSpec({"x": 0.5}, id="a"))
    assert out.status is Status.FAILED and error in out.error
    assert out.metrics == {"val_accuracy": 0.9, "loss": 0.2}


def test_sys_exit_in_process_is_a_failed_trial_and_ctrl_c_still_stops() -> None:
    def exits(params):  # noqa: ANN001, ANN202
        sys.exit(3)

    out = _executor(exits).run(ExperimentSpec({"x": 0.5}, id="a"))
    assert out.status is Status.FAILED and "sys.exit(3)" in out.error

    def interrupted(params):  # noqa: ANN001, ANN202
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _executor(interrupted).run(ExperimentSpec({"x": 0.5}, id="a"))


def test_a_trial_under_asha_stops_at_max_epochs() -> None:
    def trains_27(params, report):  # noqa: ANN001, ANN202
        for e in range(1, 28):
            if not report(e, 0.5):
                break
        return {"val_acc": 0.5}

    class Keep:
        def report(self, trial_id: str, epoch: int, value: float) -> bool:
            return True

    out = _executor(trains_27, Keep(), max_epochs=9).run(ExperimentSpec({"x": 0.5}, id="a"))
    assert out.status is Status.COMPLETED and len(out.intermediate) == 9


def _obs(status: Status, epochs: int) -> Observation:
    return Observation(ExperimentSpec({}, id="a"), Outcome(status, {}, (0.5,) * epochs))


def test_savings_claim_only_reported_epochs_stopped_early() -> None:
    unreported = [_obs(Status.COMPLETED, 0)] * 3
    assert epoch_savings(unreported, 9)["epochs_saved_frac"] == 0.0
    longer = [_obs(Status.COMPLETED, 27)] * 2  # trained past max_epochs: no negative saving
    assert epoch_savings(longer, 9)["epochs_saved_frac"] == 0.0
    mixed = [_obs(Status.COMPLETED, 9), _obs(Status.PRUNED, 1), _obs(Status.FAILED, 2)]
    s = epoch_savings(mixed, 9)
    assert (s["epochs_spent"], s["epochs_full"]) == (12.0, 20.0)
