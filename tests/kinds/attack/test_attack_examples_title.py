"""``adversarial_examples.png`` redraws the strongest trial on the samples it fooled; where the
redraw does not fool one again (drawn black), the title must not count it as fooled."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest

from perturbo.kinds.attack.samples import CLEAN_PREFIX, pack_bits
from perturbo.plots import PlotData
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def _data(name: str, target: Any) -> PlotData:
    n = len(target.y)
    right = target.clean_pred.cpu().numpy() == target.y.cpu().numpy()
    bad = np.zeros(n, bool)
    bad[np.flatnonzero(right)[:5]] = True  # the trial "fooled" 5 samples it had right
    metrics = {
        "robust_accuracy": 0.5, "n_attacked": float(n), "passes": 10.0,
        **pack_bits(bad), **pack_bits(~right, CLEAN_PREFIX),
    }  # fmt: skip
    spec = ExperimentSpec({"method": "fgsm"}, "attack", id="r001-0000", round=0)
    return PlotData(name, [Observation(spec, Outcome(Status.COMPLETED, metrics))])


@pytest.mark.parametrize("fools", [0, 2])
def test_title_counts_only_the_pairs_the_redraw_fooled(
    fools: int, digits_recipe: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    import perturbo.kinds.attack.attacks as attacks
    from perturbo.kinds.attack.campaign import CAMPAIGNS, LOADED
    from perturbo.kinds.attack.executor import AttackSettings
    from perturbo.kinds.attack.plots import adversarial_examples_plot

    target = digits_recipe.load()
    monkeypatch.setitem(LOADED, digits_recipe, target)
    settings = AttackSettings(eps=0.1, norm="linf", seed=0)
    monkeypatch.setitem(CAMPAIGNS, "examples-title", (digits_recipe, settings))

    def redraw(tg: Any, params: Any, *, idx: Any, **_: Any) -> Any:
        x = tg.x[idx].clone()
        for j in range(fools):  # fool the first ones: replace them with another class's input
            other = torch.nonzero(tg.clean_pred != tg.clean_pred[idx[j]])[0, 0]
            x[j] = tg.x[other]
        return x

    monkeypatch.setattr(attacks, "run_attack", redraw)
    pgd = importlib.import_module(
        "perturbo.kinds.attack.pgd"
    )  # (the package's `pgd` is a function)
    monkeypatch.setattr(pgd, "project", lambda x, xa, *a: xa)
    fig = adversarial_examples_plot(_data("examples-title", target))["adversarial_examples.png"]
    title = fig._suptitle.get_text().replace("\n", " ")
    red = [
        ax for ax in fig.axes if ax.get_title().startswith("adv") and ax.title.get_color() == "C3"
    ]
    assert len(red) == fools
    assert f"on {fools} of the 5 samples it fooled" in title, title
    assert f"the other {5 - fools} held in the redraw" in title, title
