"""The Python API: attack_campaign() runs a small campaign in-process and returns the
history and the per-sample worst case."""

from __future__ import annotations

from typing import Any

from perturbo.types import Status


def test_attack_campaign_in_process(digits_recipe: Any) -> None:
    from perturbo.kinds.attack import attack_campaign

    history, worst = attack_campaign(
        "digits-cnn",
        cache_dir=digits_recipe.cache_dir,
        train_epochs=6,
        eps=0.15,
        samples=30,
        planner="random",
        trials=4,
        batch=2,
        methods="fgsm,pgd",
        stop_when_done=False,  # 4 trials, not fewer: the API is what is tested here
    )
    assert len(history) == 4 or worst.accuracy() == 0.0  # the cascade ends once all are broken
    assert all(o.outcome.status is Status.COMPLETED for o in history)
    assert worst.attacked.all() and worst.accuracy() < 0.9
    assert {o.spec.kind for o in history} == {"attack"}
