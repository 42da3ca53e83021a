"""Fast checks of the plots after a campaign in process: the worst case is drawn against the
passes every trial spent, over all samples; the adversarial examples are samples the
strongest trial fooled, and the passes their redraw costs are counted and shown."""

from __future__ import annotations

from typing import Any

import pytest

from perturbo.plots import PlotData


@pytest.fixture(scope="module")
def ran(digits_recipe: Any) -> tuple[Any, Any]:
    from perturbo.kinds.attack import attack_campaign

    history, worst = attack_campaign(
        "digits-cnn",
        name="plot-passes",
        cache_dir=digits_recipe.cache_dir,
        train_epochs=6,
        eps=0.1,
        samples=40,
        planner="random",
        trials=4,
        batch=2,
        methods="fgsm,pgd",
        seed=3,
    )
    return history, worst


def test_worst_case_against_passes_over_all_samples(ran: tuple[Any, Any]) -> None:
    from perturbo.kinds.attack.plots import worst_case_plot

    history, worst = ran
    data = PlotData("plot-passes", list(history), params={"reference": "0.4@2e4"})
    ax = worst_case_plot(data)["worst_case.png"].axes[0]
    xs, ys = list(ax.lines[0].get_xdata()), list(ax.lines[0].get_ydata())
    total = sum(o.outcome.metrics.get("passes", 0.0) for o in history)
    assert xs[-1] == pytest.approx(total) and ys[-1] == pytest.approx(worst.accuracy())
    assert ax.get_xlabel().startswith("forward + backward passes")
    assert [tuple(p) for p in ax.collections[0].get_offsets()] == [(2e4, 0.4)]


def test_adversarial_examples_are_fooled_samples_and_the_redraw_is_counted(
    ran: tuple[Any, Any],
) -> None:
    from perturbo.kinds.attack.plots import adversarial_examples_plot

    history, _ = ran
    fig = adversarial_examples_plot(PlotData("plot-passes", list(history)))[
        "adversarial_examples.png"
    ]
    title = fig._suptitle.get_text().replace("\n", " ")
    assert "samples it fooled (redrawn:" in title
    redrawn = int(title.split("redrawn: ")[1].split(" passes")[0].replace(",", ""))
    assert redrawn > 0
    adv = [ax for ax in fig.axes if ax.get_title().startswith("adv")]
    assert adv and all(ax.title.get_color() == "C3" for ax in adv)  # every one shown fooled
