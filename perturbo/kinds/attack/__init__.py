"""The attack kind: adversarial attack configs searched by planners, run on hosted models.

One experiment runs one attack config (method, loss, steps, step size, restarts, queries...)
on the held-out samples of a target model and reports clean and robust accuracy, success
rate, perturbation norms and the compute spent (forward + backward passes). The campaign
keeps the per-sample worst case over every config (AutoAttack's ensemble robust accuracy)
and cascades: later configs attack only the samples still robust.

    perturbo run attack --model digits-cnn --eps 0.1 --norm linf --planner bo --trials 40 --batch 4
    perturbo run attack --model model.pt --data data.npz --input-range 0,1 --eps 0.03

Python::

    from perturbo.kinds.attack import attack_campaign
    history, worst = attack_campaign("digits-cnn", eps=0.1, trials=20, batch=4)
    print(worst.accuracy())

Modules: :mod:`.config` (settings, flags), :mod:`.targets` / :mod:`.builtin` /
:mod:`.model` (the hosted model), :mod:`.pgd` / :mod:`.library` / :mod:`.onepixel` /
:mod:`.attacks` (attacks), :mod:`.evaluate` (the robust-accuracy definition),
:mod:`.executor`, :mod:`.samples` (per-sample worst case), :mod:`.space` (search space,
cascade), :mod:`.campaign` (build), :mod:`.plots`, :mod:`.report` and :mod:`.certify` (the
"certified >= L, attacked <= U" every campaign ends with, ``--certify``), :mod:`.shown` (what
``perturbo show`` says a cascade found). Torch loads only where an attack runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from perturbo.kinds.attack.config import AttackConfig, add_arguments, default_name
from perturbo.kinds.attack.plots import ATTACK_PLOTTERS
from perturbo.kindspec import KindSpec


def _build(config: Any, context: Any) -> Any:
    from perturbo.kinds.attack.campaign import build

    return build(config, context)


def _shown_best(summary: Any, history: Any) -> Any:
    """``perturbo show``'s result of a cascade, not its first trial (imported on call)."""
    from perturbo.kinds.attack.shown import shown_best

    return shown_best(summary, history)


def _planners() -> Any:
    """The kind's planner table (imported on call: the spec stays light)."""
    from perturbo.kinds.attack.planners import TABLE

    return TABLE


KIND = KindSpec(
    name="attack",
    description="search adversarial attack configs against a hosted model (robust accuracy)",
    config_model=AttackConfig,
    add_arguments=add_arguments,
    build=_build,
    planners=_planners,
    default_name=default_name,
    headline=(  # certified_accuracy: the lower bound, logged once at the end (report.py)
        "min_eps_at_target",  # these three: min-eps campaigns only (min_eps.py)
        "best_success_rate",
        "best_success_rate_eps",
        "worst_case_robust_accuracy",
        "certified_accuracy",
        "n_still_robust",
        "passes_total",
    ),
    subject="model",
    plotters=ATTACK_PLOTTERS,
    nesting="trial",
    schedule="async",  # attack configs vary a lot in cost: keep every worker busy
    budget_keys=("trials",),
    tag_params=("model", "norm", "eps"),
    internal_params=("samples", "pass_budget"),  # a trial's sample mask and its pass budget
    shown_best=_shown_best,  # a cascade's trials saw different samples: its result, not a best
    examples=(
        "perturbo run attack --model digits-cnn --eps 0.1 --norm linf --planner bo --trials 40 --batch 4\n"
        "perturbo run attack --model model.pt --data data.npz --input-range 0,1 --eps 0.03\n"
        "perturbo run attack --model digits-cnn-adv --objective pareto --planner optuna"
    ),
)

_HOME = {
    "attack_campaign": "perturbo.kinds.attack.campaign",
    "build": "perturbo.kinds.attack.campaign",
    "AttackMetrics": "perturbo.kinds.attack.campaign",
    "AttackExecutor": "perturbo.kinds.attack.executor",
    "AttackFactory": "perturbo.kinds.attack.executor",
    "AttackSettings": "perturbo.kinds.attack.executor",
    "TargetRecipe": "perturbo.kinds.attack.targets",
    "load_target": "perturbo.kinds.attack.targets",
    "attack_space": "perturbo.kinds.attack.space",
    "WorstCase": "perturbo.kinds.attack.samples",
    "pgd": "perturbo.kinds.attack.pgd",
    "run_attack": "perturbo.kinds.attack.attacks",
}

__all__ = ["ATTACK_PLOTTERS", "KIND", "AttackConfig", "add_arguments", "default_name", *_HOME]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perturbo.kinds.attack' has no attribute {name!r}")
