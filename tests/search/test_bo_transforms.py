"""bo's opt-in fit changes (search/bo_transforms.py): each does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from perturbo.kinds.hyperparameter.tasks import make_task
from perturbo.search.bo import BOPlanner
from perturbo.search.bo_transforms import clamp_blow_ups, warp_outcomes, winsorize_bad_tail
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

K = "hyperparameter"


def _told(planner: BOPlanner, task, n: int, seed: int = 0) -> None:
    space = task.space()
    cfgs = space.sample(np.random.default_rng(seed), n, set())
    planner.tell(
        [
            Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, task.evaluate(c)))
            for c in cfgs
        ]
    )


def _fit(planner: BOPlanner):
    import torch

    return planner._fit(
        torch.as_tensor(planner._told.X, dtype=torch.double),
        torch.as_tensor(planner._told.Y, dtype=torch.double),
    )


def test_warp_outcomes_keeps_the_order_and_removes_the_skew() -> None:
    """Error-rate-like values (most configs bad, a few good: a long tail) come out nearly
    symmetric, in the same order, so the argmax the GP is asked about is the same."""
    from scipy.stats import skew

    rng = np.random.default_rng(0)
    y = -np.exp(1.5 * rng.normal(size=60))  # maximised; long tail of bad values
    assert skew(y) < -2
    w = warp_outcomes(y[:, None])[:, 0]
    assert abs(skew(w)) < 0.5, skew(w)
    assert (np.argsort(w, kind="stable") == np.argsort(y, kind="stable")).all()
    assert abs(w.mean()) < 1e-9 and abs(w.std() - 1) < 1e-6
    assert (warp_outcomes(np.ones((5, 1))) == 0).all()  # a constant column: no NaN


def test_low_noise_lets_a_noise_free_function_fit_below_botorch_noise_floor() -> None:
    """Branin is noise-free: with Optuna's noise model the fitted noise variance goes below
    BoTorch's 1e-4 floor, which the default fit cannot."""
    task = make_task("branin")
    fitted = {}
    for noise in ("botorch", "low"):
        pl = BOPlanner(task.space(), K, 0, "value", "min", noise=noise)
        _told(pl, task, 30)
        fitted[noise] = float(_fit(pl).likelihood.noise.detach().min())
    assert fitted["botorch"] >= 1e-4, fitted
    assert fitted["low"] < 1e-4, fitted


def test_input_warp_on_the_numeric_columns_and_y_warp_propose_from_the_model() -> None:
    from botorch.models.transforms.input import Warp

    space = SearchSpace(
        [
            Float("lr", 1e-4, 1e-1, log=True),
            Categorical("act", ["relu", "tanh", "gelu"]),
            Int("width", 8, 256, log=True),
        ]
    )
    rng = np.random.default_rng(0)
    cfgs = space.sample(rng, 12, set())
    obs = [
        Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, {"f": float(rng.random())}))
        for c in cfgs
    ]
    pl = BOPlanner(space, K, 0, "f", "max", n_init=4, input_warp=True, y_warp=True)
    pl.tell(obs)
    warps = [m for m in _fit(pl).modules() if isinstance(m, Warp)]
    assert len(warps) == 1
    cat = set(space.cat_dims)
    assert sorted(warps[0].indices.tolist()) == [i for i in range(space.dim) if i not in cat]
    specs = pl.ask(3, [])
    assert all(s.note.startswith("qLogNEI on 12 points") for s in specs), [s.note for s in specs]


def test_unknown_noise_model_is_refused() -> None:
    with pytest.raises(ValueError, match="noise"):
        BOPlanner(make_task("branin").space(), K, noise="none")


def test_winsorize_bad_tail_is_ax_tukey_fence_and_the_identity_without_outliers() -> None:
    y = -np.linspace(0.1, 0.5, 40)[:, None]  # signed losses (larger is better), no outlier
    assert np.array_equal(winsorize_bad_tail(y), y)
    bad = np.vstack([y, [[-2.4e31]], [[-53.0]]])  # two diverged trainings
    q1 = np.percentile(bad, 25, method="lower")
    q3 = np.percentile(bad, 75, method="higher")
    out = winsorize_bad_tail(bad)
    assert np.allclose(out[-2:, 0], q1 - 1.5 * (q3 - q1))  # both raised to the fence
    assert np.array_equal(out[:-2], y)  # the rest untouched
    assert np.all(np.diff(out[np.argsort(bad[:, 0]), 0]) >= 0)  # order kept (monotone)


def test_the_blow_up_guard_clamps_only_values_far_out_and_bo_fits_on_them(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    y = -rng.lognormal(0.0, 1.0, (40, 1))  # signed losses with a heavy tail of their own
    assert np.array_equal(clamp_blow_ups(y), y)  # a skewed measurement is not a blow-up
    bad = np.vstack([y, [[-2.4e31]], [[-53e3]]])
    q1 = np.percentile(bad, 25, method="lower")
    q3 = np.percentile(bad, 75, method="higher")
    out = clamp_blow_ups(bad)
    assert np.allclose(out[-2:, 0], q1 - 1.5 * (q3 - q1)) and np.array_equal(out[:-2], y)
    flat = np.vstack([np.zeros((9, 1)), [[-1e9]]])  # IQR 0: nothing to judge by
    assert np.array_equal(clamp_blow_ups(flat), flat)

    seen: list[float] = []
    real = BOPlanner._fit

    def spy(self, X, Y):
        seen.append(float(Y.min()))
        return real(self, X, Y)

    monkeypatch.setattr(BOPlanner, "_fit", spy)
    space = SearchSpace([Float("x", 0.0, 1.0), Float("z", 0.0, 1.0)])
    cfgs = space.sample(rng, 10, set())
    vals = [(c["x"] - 0.3) ** 2 + c["z"] for c in cfgs]
    vals[2] = 1e6  # a diverged run of a loss
    obs = [Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, {"loss": v}))
           for c, v in zip(cfgs, vals, strict=True)]  # fmt: skip
    for guard in (True, False):
        pl = BOPlanner(space, K, 0, "loss", "min", n_init=4, y_guard=guard)
        pl.tell(obs)
        pl.ask(1, [])
        assert (seen[-1] > -10) == guard, seen  # fitted on the clamped value, or on -1e6


def test_bo_y_winsorize_fits_on_the_fenced_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """``y_winsorize`` (opt-in): the model sees every value below Tukey's fence raised to it
    (here a bad tail well inside the guard's 100 IQRs); off, the values as told."""
    seen: list[np.ndarray] = []
    real = BOPlanner._fit

    def spy(self, X, Y):
        seen.append(Y.numpy().ravel().copy())
        return real(self, X, Y)

    monkeypatch.setattr(BOPlanner, "_fit", spy)
    rng = np.random.default_rng(3)
    space = SearchSpace([Float("x", 0.0, 1.0), Float("z", 0.0, 1.0)])
    cfgs = space.sample(rng, 12, set())
    acc = [0.9 - 0.1 * c["x"] - 0.05 * c["z"] for c in cfgs]
    acc[1] = acc[5] = 0.1  # two configs at chance level: a bad tail, not a blow-up
    obs = [Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, {"acc": v}))
           for c, v in zip(cfgs, acc, strict=True)]  # fmt: skip
    q1 = np.percentile(acc, 25, method="lower")
    fence = q1 - 1.5 * (np.percentile(acc, 75, method="higher") - q1)
    assert 0.1 < fence  # the tail is below the fence
    for wins in (True, False):
        pl = BOPlanner(space, K, 0, "acc", "max", n_init=4, y_winsorize=wins)
        pl.tell(obs)
        pl.ask(1, [])
        assert np.isclose(seen[-1].min(), fence if wins else 0.1)
        assert np.allclose(np.sort(seen[-1])[2:], np.sort(acc)[2:])  # the rest as told


def test_a_quarter_or_more_of_astronomical_losses_are_clamped_and_bo_stays_a_model() -> None:
    """A loss of 1e300 on 40% of the space (y > 0.6): q1 is then a blow-up itself, the IQR spans
    it, and the 100-IQR rule cannot see them; every `bo` proposal went to its Sobol fallback
    (the standardisation overflowed). They are raised to the other values' fence; ordinary
    values are untouched (benchmarks/bo_outlier_probe.py --identity: none of the recorded runs)."""
    rng = np.random.default_rng(3)
    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    cfgs = space.sample(rng, 16, set())
    loss = [1e300 if c["y"] > 0.6 else (c["x"] - 0.3) ** 2 + (c["y"] - 0.2) ** 2 for c in cfgs]
    assert sum(v == 1e300 for v in loss) >= 4  # a quarter or more
    y = -np.array(loss)[:, None]  # larger is better
    out = clamp_blow_ups(y)
    fine = y[:, 0] > -1e300
    assert np.array_equal(out[fine], y[fine]) and np.all(out[~fine, 0] <= y[fine, 0].min())
    assert out.min() > -10
    obs = [Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, {"loss": v}))
           for c, v in zip(cfgs, loss, strict=True)]  # fmt: skip
    pl = BOPlanner(space, K, 0, "loss", "min", n_init=4)
    pl.tell(obs)
    notes = [s.note for s in pl.ask(2, [])]
    assert not any("fallback" in n for n in notes), notes
