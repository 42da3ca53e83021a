"""The attack executor: runs one attack config on the held-out samples of a hosted target.

Hosting design (measured in ``benchmarks/attack.py``, "hosting"): each Ray executor actor
*is* the model host. :class:`AttackFactory` is called once per actor and loads the target
(model and data) there; every attack config that actor runs reuses it, so the model is
never reloaded per experiment (:data:`~perturbo.kinds.attack.targets.LOADS` counts loads,
and each outcome reports ``model_loads`` of its process). A separate host actor serving
forward/gradient calls costs a Ray round trip and a copy of the batch each way per PGD
step (measured: about the same as the step itself on a batch of 100 digits on this CPU),
and, worse, it runs the gradient steps of every executor in one process, where a copy per
executor actor runs them in parallel. For a model too large to copy, sharing one GPU among
many actors, :mod:`perturbo.actors.target_host` is the starting point.

Metrics of an outcome (over the samples it attacked, see :mod:`.evaluate`):
``clean_accuracy``, ``robust_accuracy``, ``success_rate``, ``median_norm``, ``mean_norm``,
``forward_passes``, ``backward_passes``, ``passes`` (their sum: the compute measure),
``queries`` (forward passes of the attack itself), ``seconds``, ``n_attacked``, ``eps``,
the per-sample bits of :mod:`.samples`, and, for min-eps campaigns, ``eps_score``.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perturbo.kinds.attack.targets import LOADS, Target, TargetRecipe
from perturbo.types import ExperimentSpec, Outcome, Status, describe_error, failed


@dataclass(frozen=True)
class AttackSettings:
    """What every trial of a campaign shares (picklable)."""

    eps: float
    norm: str = "linf"
    seed: int = 0
    target_success: float = 0.9
    """min-eps campaigns: the success rate an eps must reach."""
    eps_max: float = 0.0
    """min-eps campaigns: the largest eps searched (the penalty scale of ``eps_score``)."""


def eps_score(eps: float, success: float, target: float, eps_max: float) -> float:
    """The min-eps objective (minimised): ``eps`` where the success rate reaches ``target``,
    else a penalty above every feasible value that shrinks as success grows."""
    if success >= target:
        return eps
    return eps_max * (2.0 + (target - success))


class AttackExecutor:
    """Runs attack configs on one target, loaded once (see the module docstring)."""

    def __init__(self, recipe: TargetRecipe | Target, settings: AttackSettings) -> None:
        self.target = recipe.load() if isinstance(recipe, TargetRecipe) else recipe
        self.settings = settings

    def run(self, spec: ExperimentSpec) -> Outcome:
        import numpy as np
        import torch

        from perturbo.kinds.attack.attacks import run_attack
        from perturbo.kinds.attack.evaluate import assess
        from perturbo.kinds.attack.samples import CLEAN_PREFIX, decode_mask, pack_bits
        from perturbo.kinds.attack.space import PASS_BUDGET

        t0 = time.perf_counter()
        tg, st = self.target, self.settings
        params: Mapping[str, Any] = spec.params
        eps = float(params.get("eps", st.eps))
        n = len(tg.y)
        try:
            chosen = decode_mask(str(params.get("samples", "")), n)
        except ValueError:
            return failed(f"samples {params.get('samples')!r} is not a hex sample mask")
        clean_ok = (tg.clean_pred == tg.y).cpu().numpy()
        todo = np.nonzero(chosen & clean_ok)[0]  # misclassified samples need no attack
        idx = torch.from_numpy(todo).to(tg.x.device)
        model = tg.model
        model.reset()
        seed = st.seed + (zlib.crc32(spec.id.encode()) % 10_000 if spec.id else 0)
        budget = params.get(PASS_BUDGET)
        if budget is not None:  # what assess needs (one forward per sample) is set aside
            model.limit = max(0, int(budget) - len(todo))
        try:
            torch.manual_seed(seed)
            with torch.enable_grad():
                x_adv = (
                    run_attack(tg, params, eps=eps, norm=st.norm, idx=idx, seed=seed)
                    if len(todo)
                    else tg.x[idx]
                )
            attack_counts = model.counts()
            budget_hit = model.limit_hit
            model.limit = None
            a = assess(
                model,
                tg.x[idx],
                tg.y[idx],
                x_adv,
                eps=eps,
                norm=st.norm,
                lo=tg.lo,
                hi=tg.hi,
                clean_pred=tg.clean_pred[idx],
            )
        except FloatingPointError as e:
            return _failed(f"attack {params.get('method')!r} diverged: {e}", t0, model)
        except Exception as e:  # noqa: BLE001 - a library's failure is this trial's outcome
            why = f"attack {params.get('method')!r} raised {describe_error(e)}"
            return _failed(why, t0, model)
        sel = np.nonzero(chosen)[0]
        n_sel = len(sel)
        robust_full = np.zeros(n, bool)
        robust_full[todo] = a.robust
        norms = a.norms[a.success]
        n_ok = len(todo)
        succ = int(a.success.sum())
        c = model.counts()
        metrics: dict[str, float] = {
            "clean_accuracy": n_ok / n_sel if n_sel else math.nan,
            "robust_accuracy": float(robust_full[sel].sum()) / n_sel if n_sel else math.nan,
            "success_rate": succ / n_ok if n_ok else 0.0,
            "median_norm": float(np.median(norms)) if len(norms) else 0.0,
            "mean_norm": float(np.mean(norms)) if len(norms) else 0.0,
            "forward_passes": float(c["forward_passes"]),
            "backward_passes": float(c["backward_passes"]),
            "passes": float(c["forward_passes"] + c["backward_passes"]),
            "queries": float(attack_counts["forward_passes"]),
            "n_attacked": float(n_sel),
            "n_samples": float(n),
            "eps": eps,
            "model_loads": float(LOADS.get(tg.name, 0)),
            "seconds": time.perf_counter() - t0,
            "budget_hit": float(budget_hit),
        }
        if budget is not None:
            metrics["pass_budget"] = float(budget)
        metrics["eps_score"] = eps_score(
            eps, metrics["success_rate"], st.target_success, st.eps_max or eps
        )
        metrics.update(pack_bits(chosen & ~robust_full))
        metrics.update(pack_bits(chosen & ~clean_ok, CLEAN_PREFIX))
        return Outcome(Status.COMPLETED, metrics, duration_s=metrics["seconds"])


def _failed(reason: str, t0: float, model: Any) -> Outcome:
    """A FAILED outcome that still reports the passes spent (the budget counts them)."""
    c = model.counts()
    model.limit = None
    out = failed(reason, time.perf_counter() - t0)
    passes = float(c["forward_passes"] + c["backward_passes"])
    return Outcome(out.status, {"passes": passes}, error=out.error, duration_s=out.duration_s)


@dataclass(frozen=True)
class AttackFactory:
    """Picklable zero-argument factory: one :class:`AttackExecutor` (one model load) per actor."""

    recipe: TargetRecipe
    settings: AttackSettings

    def __call__(self) -> AttackExecutor:
        return AttackExecutor(self.recipe, self.settings)


__all__ = ["AttackExecutor", "AttackFactory", "AttackSettings", "eps_score"]
