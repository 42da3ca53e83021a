"""Every attack lowers accuracy on the trained CNN; the robust-accuracy definition; our PGD
against ART's on the same inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from perturbo.kinds.attack.evaluate import assess, robust_mask
from perturbo.kinds.attack.executor import AttackExecutor, AttackSettings
from perturbo.types import ExperimentSpec, Status

CASES = [
    ("linf", 0.2, {"method": "fgsm", "loss": "ce"}),
    ("linf", 0.2, {"method": "pgd", "steps": 10, "step_rel": 0.25, "restarts": 1, "loss": "cw"}),
    ("l2", 1.5, {"method": "pgd", "steps": 10, "step_rel": 0.25, "restarts": 2, "loss": "dlr"}),
    ("linf", 0.2, {"method": "apgd-ce", "steps": 10, "restarts": 1}),
    ("linf", 0.2, {"method": "apgd-dlr", "steps": 10, "restarts": 1}),
    ("linf", 0.2, {"method": "apgd-t", "steps": 10, "targets": 2}),
    ("linf", 0.2, {"method": "square", "queries": 150, "p_init": 0.3}),
    ("l2", 2.0, {"method": "cw-l2", "steps": 10, "confidence": 0.0}),
    ("l2", 2.0, {"method": "deepfool", "steps": 20}),
    ("l0", 3, {"method": "onepixel", "popsize": 30, "iters": 8}),
]


@pytest.mark.parametrize(
    ("norm", "eps", "params"), CASES, ids=[f"{c[2]['method']}-{c[0]}" for c in CASES]
)
def test_each_attack_lowers_accuracy(
    digits_target: Any, norm: str, eps: float, params: dict[str, Any]
) -> None:
    ex = AttackExecutor(digits_target, AttackSettings(eps=eps, norm=norm, seed=1))
    n = 20 if params["method"] == "cw-l2" else 40 if params["method"] == "onepixel" else 120
    mask = format((1 << n) - 1, "x")
    out = ex.run(ExperimentSpec({**params, "samples": mask}, id="t"))
    assert out.status is Status.COMPLETED, out.error
    m = out.metrics
    assert m["clean_accuracy"] >= 0.85  # a trained CNN (36 of onepixel's 40 samples: 0.9)
    assert m["robust_accuracy"] < m["clean_accuracy"] - 0.05, m  # the attack did something
    assert m["success_rate"] > 0.05
    assert m["forward_passes"] > 0 and m["passes"] >= m["forward_passes"]
    if params["method"] not in ("square", "onepixel"):
        assert m["backward_passes"] > 0
    assert m["n_attacked"] == n
    if norm == "linf":
        assert m["median_norm"] <= eps * (1 + 1e-4)


def test_robust_mask_is_correct_clean_and_correct_attacked() -> None:
    clean = np.array([True, True, False, False])
    adv = np.array([True, False, True, False])
    assert robust_mask(clean, adv).tolist() == [True, False, False, False]


class _Threshold(torch.nn.Module):
    """Class 1 iff the first input is above 0.5 (logits [0.5 - x0, x0 - 0.5])."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x[:, 0]
        return torch.stack([0.5 - v, v - 0.5], 1)


def test_assess_on_hand_made_cases() -> None:
    from perturbo.kinds.attack.model import CountingModel

    m = CountingModel(_Threshold())
    x = torch.tensor([[0.45, 0.0], [0.2, 0.0], [0.6, 0.0], [0.45, 0.0]])
    y = torch.tensor([0, 0, 0, 1])  # sample 2 and 3 are misclassified clean
    # 0: moved across within eps -> broken; 1: too far to cross -> robust;
    # 2: wrong clean, "attack" makes it right -> still not robust, no success;
    # 3: wrong clean
    xa = torch.tensor([[0.55, 0.0], [0.9, 0.0], [0.3, 0.0], [0.45, 0.0]])
    a = assess(m, x, y, xa, eps=0.1, norm="linf", lo=0.0, hi=1.0)
    assert a.clean_correct.tolist() == [True, True, False, False]
    # sample 1's example is projected back into the ball (0.2 + 0.1 = 0.3): still class 0
    assert a.robust.tolist() == [False, True, False, False]
    assert a.success.tolist() == [True, False, False, False]
    s = a.summary()
    assert s["robust_accuracy"] == 0.25 and s["success_rate"] == 0.5
    assert s["median_norm"] == pytest.approx(0.1, abs=1e-5)


def test_assess_raises_on_non_finite_examples() -> None:
    from perturbo.kinds.attack.model import CountingModel

    m = CountingModel(_Threshold())
    x = torch.zeros(2, 2)
    with pytest.raises(FloatingPointError, match="diverged"):
        assess(
            m,
            x,
            torch.zeros(2, dtype=torch.long),
            torch.full((2, 2), float("nan")),
            eps=0.1,
            norm="linf",
            lo=0.0,
            hi=1.0,
        )


def test_our_pgd_matches_art_on_the_same_inputs(digits_target: Any) -> None:
    """No random start: both run the same deterministic iteration, so the examples agree."""
    from perturbo.kinds.attack import library
    from perturbo.kinds.attack.pgd import pgd

    tg = digits_target
    x, y = tg.x[:100], tg.y[:100]
    kw = {"eps": 0.1, "norm": "linf", "lo": tg.lo, "hi": tg.hi}
    ours = pgd(
        tg.model, x, y, steps=20, step_size=0.01, random_start=False, early_stop=False, **kw
    ).x_adv
    art = library.art_pgd(
        tg.model, x, y, steps=20, step_size=0.01, random_init=False, n_classes=10, **kw
    )
    a_ours = assess(tg.model, x, y, ours, **kw)
    a_art = assess(tg.model, x, y, art, **kw)
    assert abs(int(a_ours.robust.sum()) - int(a_art.robust.sum())) <= 2
    assert (ours - art).abs().max() <= 0.1 + 1e-5
    assert float(((ours - art).abs() < 1e-4).float().mean()) > 0.95
