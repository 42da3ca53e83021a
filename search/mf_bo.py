"""Multi-fidelity Bayesian optimisation: proposes (config, fidelity) pairs with a cost-aware
knowledge gradient, as in BoTorch's "Multi-fidelity BO with discrete fidelities" tutorial.

The fidelity is one parameter of the space (``epochs`` by default, or the one named by
``fidelity``): an :class:`~perturbo.space.Int`, a numeric :class:`~perturbo.space.Float` or an
ordered :class:`~perturbo.space.Categorical` of numbers. The planner proposes it on a ladder
of fidelities (``low * eta**k`` up to ``high``, as ASHA's rungs, or the categorical's
choices) and the executor runs the config at that fidelity (e.g. trains that many epochs).

- Model: ``SingleTaskMultiFidelityGP`` on the configs' unit-cube encoding plus one fidelity
  column ``s = fidelity / max`` (its downsampling kernel learns how low fidelities
  correlate with the highest); outcome ``Standardize``. Unordered categoricals are
  encoded as their unit positions (the multi-fidelity kernel has no categorical part).
- Acquisition: ``qMultiFidelityKnowledgeGradient`` with an ``InverseCostWeightedUtility``
  over an ``AffineFidelityCostModel`` (cost = ``fixed_cost + s``: epochs cost in
  proportion), the value projected to the target fidelity ``s = 1``; the current value is
  the best posterior mean at ``s = 1``. In-flight experiments are ``X_pending``. The
  candidates' fidelities are snapped to the ladder.
- Promotion (as ASHA promotes, but by the model; ``promote="rung"``: by ASHA's cut, see
  :mod:`~perturbo.search.mf_promote`): observed configs not yet run at the full fidelity
  are ranked by their upper bound at ``s = 1`` (mean + ``promote_beta`` sd); those whose bound
  beats the best mean of the configs already measured there take slots of the batch. With
  ``warm_start`` (the executor continues a config's last run, as the built-in trainers do) a
  promoted config climbs one rung (1 -> 3 -> 9 -> 27), so a config that looked good cheaply
  is checked at 3 and 9 epochs before its full training, at no extra cost if it gets there;
  up to half the batch (one slot for batches of two or three). Without it a promotion goes
  straight to the full fidelity, one slot per batch. A batch of one promotes on every other
  ask. So a campaign ends with its recommendation measured at the fidelity that counts.
- The first ``n_init`` proposals are scrambled Sobol' configs on the lower rungs (each rung
  repeated in proportion to how cheap it is); so is any proposal the model cannot make.

A space without a fidelity parameter has nothing to trade: the planner is then ``bo``
(:class:`~perturbo.search.bo.BOPlanner`) under this name. Resume: ``tell`` with the history
rebuilds the same data, and the model is refitted with a seed from the counts told, so a
resumed planner proposes what the original would have.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from perturbo.objective import Objective
from perturbo.search._told import pending_keys
from perturbo.search.bo import BOPlanner
from perturbo.search.fidelity import (
    FIDELITY_NAMES,
    fidelity_ladder,
    find_fidelity,
    tradable_fidelity,
    warn_no_fidelity,
)
from perturbo.search.gp_fantasy import fantasy_mean_cache
from perturbo.search.gp_refit import HyperparameterCache
from perturbo.search.mf_model import fit_mf_gp, train_y
from perturbo.search.mf_promote import choose, in_top_of_rung, promotable
from perturbo.search.sobol import SobolPlanner
from perturbo.space import Categorical, Int, SearchSpace
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Status


class MFBOPlanner:
    """Multi-fidelity BO (see the module docstring). One objective.

    ``fixed_cost``: the cost of a run besides the fidelity, in units of a full-fidelity run.
    ``promote_beta``: the promotion's optimism (0: the posterior mean alone).
    ``warm_start``: the executor continues a config's last run (promotions climb the ladder).
    ``y_winsorize`` (on): values worse than Tukey's fence (q1 - 1.5 IQR) are raised to it
    before the fit, as Ax's default ``Winsorize`` does, so one diverged training's huge loss
    cannot flatten the standardised values of all the others; the identity on data without
    such values. ``y_warp``: a Yeo-Johnson transform after it (``bo``'s opt-in); off. Both
    measured in docs/findings/hyperparameter.md.
    ``num_fantasies``/``num_restarts``/``raw_samples``/``maxiter``: the cost knobs of a proposal.
    ``promote``: ``"model"`` or ``"rung"`` (ASHA's cut on the rung a config reached; worse).
    ``acquisition``: ``"kg"`` (the cost-aware qMFKG above) or ``"nei"``
    (:mod:`~perturbo.search.mf_nei`: qLogNEI at the full fidelity, new configs at the lowest
    rung; measured worse than ``"kg"`` on 4 of 5 tasks, kept for the benchmark).
    ``refit_every``: the GP's hyperparameters are refitted at multiples of this many usable
    observations, as ``bo``'s (search/gp_refit.py); 1: a fit on every ask.
    """

    name = "mf-bo"

    def __init__(
        self,
        space: SearchSpace,
        kind: str = "",
        seed: int = 0,
        objective: str = "value",
        direction: str = "max",
        fidelity: str | None = None,
        eta: float = 3.0,
        fixed_cost: float = 0.02,
        n_init: int | None = None,
        num_fantasies: int = 4,
        num_restarts: int = 2,
        raw_samples: int = 32,
        maxiter: int = 10,
        promote_beta: float = 2.0,
        warm_start: bool = True,
        y_warp: bool = False,
        y_winsorize: bool = True,
        acquisition: str = "kg",
        promote: str = "model",
        refit_every: int = 4,
    ) -> None:
        if acquisition not in ("kg", "nei") or promote not in ("model", "rung"):
            msg = f"acquisition {acquisition!r} (kg, nei), promote {promote!r} (model, rung)"
            raise ValueError(f"mf-bo: {msg}")
        self.acquisition, self.promote, self.eta = acquisition, promote, eta
        self._space, self._kind, self._seed = space, kind, seed
        self.fidelity = tradable_fidelity(space, fidelity, eta)  # None (warned): plain bo
        self._bo: BOPlanner | None = None
        self.last_ask_s = self.last_ask_cpu_s = 0.0
        if self.fidelity is None:
            self._bo = BOPlanner(space, kind, seed, objective=objective, direction=direction)
            self._bo.name = self.name
            self._bo._sobol.name = self.name
            return
        self.objective = Objective.of(objective, direction)
        if self.objective.multi:
            raise ValueError("mf-bo optimises one objective")
        self._fparam = space[self.fidelity]
        self.ladder = fidelity_ladder(self._fparam, eta)
        self.f_max = self.ladder[-1]
        self._configs_space = SearchSpace([p for p in space.params if p.name != self.fidelity])
        self._sobol = SobolPlanner(self._configs_space, kind, seed)
        self.fixed_cost = fixed_cost
        self.promote_beta = promote_beta
        self.warm_start = warm_start
        self.y_warp, self.y_winsorize = y_warp, y_winsorize
        d = self._configs_space.dim
        self.n_init = n_init if n_init is not None else min(12, max(6, d + 2))
        self.num_fantasies, self.num_restarts = num_fantasies, num_restarts
        self.raw_samples, self.maxiter = raw_samples, maxiter
        self._refit = HyperparameterCache(refit_every, seed)  # search/gp_refit.py
        self._x: list[np.ndarray] = []  # config encoding + s, for usable observations
        self._y: list[float] = []
        self._cfg: list[dict[str, Any]] = []
        self._keys: set[str] = set()  # every (config, fidelity) told
        self._at: dict[str, dict[float, float]] = {}  # config key -> {fidelity: best signed y}
        self.n_told = 0
        # the initial design's fidelities: each rung below the top, repeated more when cheaper
        low = self.ladder[:-1] or self.ladder
        self._init_pattern = [f for i, f in enumerate(low) for _ in range(len(low) - i)]

    # -- Planner -------------------------------------------------------------------------
    def tell(self, observations: Sequence[Observation]) -> None:
        if self._bo is not None:
            self._bo.tell(observations)
            return
        for o in observations:
            self.n_told += 1
            if o.outcome.status is Status.REJECTED:
                continue
            try:
                params = self._space.validate(o.spec.params)
            except InvalidSpec:
                continue
            self._keys.add(self._space.key(params))
            y = self.objective.signed(o)
            if y is None or not math.isfinite(float(y[0])):
                continue
            cfg = {k: v for k, v in params.items() if k != self.fidelity}
            ck = self._configs_space.key(cfg)
            f = float(params[self.fidelity])
            at = self._at.setdefault(ck, {})
            at[f] = max(at.get(f, -math.inf), float(y[0]))
            self._x.append(self._encode(cfg, f))
            self._y.append(float(y[0]))
            self._cfg.append(cfg)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        if self._bo is not None:
            out = self._bo.ask(n, pending)
            self.last_ask_s, self.last_ask_cpu_s = self._bo.last_ask_s, self._bo.last_ask_cpu_s
            return out
        t0, c0 = time.perf_counter(), time.process_time()
        seen = set(self._keys) | pending_keys(self._space, pending)
        out: list[ExperimentSpec] = []
        n_init = max(0, min(n, self.n_init - self.n_told - len(pending)))
        if len(self._y) < 3:
            n_init = n
        if n_init:
            cfgs = self._sobol.ask(n_init, [])
            start = self.n_told + len(pending)
            for i, s in enumerate(cfgs):
                f = self._init_pattern[(start + i) % len(self._init_pattern)]
                out.append(self._spec(s.params, f, "sobol initial design", seen))
        if n - len(out) > 0:
            try:
                out += self._mfkg(n - len(out), list(pending) + out, seen, bool(out))
            except Exception as e:  # noqa: BLE001 - a numerical failure must not stop the campaign
                note = f"sobol fallback: model failed ({type(e).__name__}: {e})"[:300]
                for s in self._sobol.ask(n - len(out), []):
                    out.append(self._spec(s.params, self.ladder[0], note, seen))
        self.last_ask_s = time.perf_counter() - t0
        self.last_ask_cpu_s = time.process_time() - c0
        return out

    def describe(self) -> dict[str, str | float | int | bool]:
        if self._bo is not None:
            return {"fidelity": "none (bo)"}
        return {
            "fidelity": str(self.fidelity),
            "fidelities": ",".join(f"{f:g}" for f in self.ladder),
            "fixed_cost": self.fixed_cost,
            "warm_start": self.warm_start,
            "acquisition": self.acquisition,
            "promote": self.promote,
        }

    # -- helpers ---------------------------------------------------------------------------
    def _encode(self, cfg: dict[str, Any], f: float) -> np.ndarray:
        return np.append(self._configs_space.encode(cfg), f / self.f_max)

    def _value(self, f: float) -> Any:
        p = self._fparam
        if isinstance(p, Categorical):
            return min(p.choices, key=lambda c: abs(float(c) - f))
        return int(round(f)) if isinstance(p, Int) else float(f)

    def _snap(self, s: float) -> float:
        """The ladder's fidelity nearest ``s * f_max`` on a log scale."""
        f = max(float(s), 1e-9) * self.f_max
        return min(self.ladder, key=lambda v: abs(math.log(v) - math.log(f)))

    def _spec(self, cfg: dict[str, Any], f: float, note: str, seen: set[str]) -> ExperimentSpec:
        """A spec of ``cfg`` at fidelity ``f``; a repeat of a run or pending pair is swapped for
        a random config at the same fidelity."""
        params = self._space.validate({**cfg, self.fidelity: self._value(f)})
        if self._space.key(params) in seen:
            rng = np.random.default_rng(self._seed * 7919 + self.n_told + len(seen))
            for _ in range(20):
                c = self._configs_space.sample(rng, 1, set())[0]
                params = self._space.validate({**c, self.fidelity: self._value(f)})
                if self._space.key(params) not in seen:
                    break
            note += "; duplicate replaced by a random config"
        seen.add(self._space.key(params))
        return ExperimentSpec(params, self._kind, planner=self.name, note=note)

    # -- the model ------------------------------------------------------------------------
    def _fit(self, X: Any, Y: Any, hyper: dict[str, Any] | None = None) -> Any:
        return fit_mf_gp(X, Y, hyper)

    def _train_y(self, m: int) -> Any:
        """The GP's targets from the first ``m`` usable observations."""
        return train_y(self._y[:m], self.y_winsorize, self.y_warp)

    def _mfkg(
        self, n: int, pending: Sequence[ExperimentSpec], seen: set[str], after_init: bool = False
    ) -> list[ExperimentSpec]:
        import torch
        from botorch.acquisition import PosteriorMean
        from botorch.acquisition.cost_aware import InverseCostWeightedUtility
        from botorch.acquisition.fixed_feature import FixedFeatureAcquisitionFunction
        from botorch.acquisition.knowledge_gradient import qMultiFidelityKnowledgeGradient
        from botorch.acquisition.utils import project_to_target_fidelity
        from botorch.models.cost import AffineFidelityCostModel
        from botorch.optim import optimize_acqf

        d = self._configs_space.dim  # the fidelity column's index
        out: list[ExperimentSpec] = []
        with torch.random.fork_rng(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(self._seed * 100_003 + self.n_told + len(pending))
            X = torch.as_tensor(np.array(self._x), dtype=torch.double)
            Y = self._train_y(len(self._y))
            model = self._refit.model(X, Y, self._train_y, self._fit)
            bounds = torch.zeros(2, d + 1, dtype=torch.double)
            bounds[1] = 1.0
            bounds[0, d] = self.ladder[0] / self.f_max
            # promotion: the observed config not yet run at the full fidelity with the best
            # upper bound there (mean + promote_beta * sd), when it beats the best mean of the
            # configs measured there (or none is)
            Xt = X.clone()
            Xt[:, d] = 1.0
            with torch.no_grad():
                post = model.posterior(Xt)
                means = post.mean.squeeze(-1)
                upper = means + self.promote_beta * post.variance.clamp_min(0).sqrt().squeeze(-1)
            at_full = X[:, d] >= 1.0 - 1e-9
            bar = float(means[at_full].max()) if bool(at_full.any()) else -math.inf
            promoted: list[tuple[dict[str, Any], float]] = []
            # a batch of one promotes every other proposal, counted over the history (told
            # and pending), so a planner resumed from it keeps the turn; not in the ask that
            # ends the initial design (its one model slot goes to the KG)
            if n >= 2 or (not after_init and (self.n_told + len(pending)) % 2 == 1):
                slots = max(1, n // 2) if self.warm_start else 1
                cands = self._promotable(pending, seen)
                for i, f in choose(cands, upper.tolist(), bar, slots, self._qualifies):
                    promoted.append((self._cfg[i], f))
                    note = f"promoted to {self.fidelity} {self._value(f)}"
                    out.append(self._spec(self._cfg[i], f, note, seen))
            q = n - len(out)
            Xp = self._pending_x(pending, promoted) if q > 0 else None
            if q > 0 and self.acquisition == "nei":
                from perturbo.search.mf_nei import propose_nei

                cand = propose_nei(model, X, Xp, d, q)
                note = f"qLogNEI at the full {self.fidelity} on {len(X)} points"
                for row in cand.numpy():
                    cfg = self._configs_space.decode(row)
                    out.append(self._spec(cfg, self.ladder[0], note, seen))
            elif q > 0:
                current = FixedFeatureAcquisitionFunction(
                    PosteriorMean(model), d=d + 1, columns=[d], values=[1.0]
                )
                _, current_value = optimize_acqf(
                    current, bounds=bounds[:, :d], q=1, num_restarts=self.num_restarts,
                    raw_samples=self.raw_samples, options={"maxiter": self.maxiter},
                )  # fmt: skip
                cost = AffineFidelityCostModel(
                    fidelity_weights={d: 1.0}, fixed_cost=self.fixed_cost
                )
                acq = qMultiFidelityKnowledgeGradient(
                    model,
                    num_fantasies=self.num_fantasies,
                    current_value=current_value,
                    cost_aware_utility=InverseCostWeightedUtility(cost_model=cost),
                    project=lambda Z: project_to_target_fidelity(
                        Z, target_fidelities={d: 1.0}, d=d + 1
                    ),
                    X_pending=Xp,
                )
                # the raw samples scored in one batch (``init_batch_limit``), not 2 at a time as
                # the L-BFGS's ``batch_limit`` would: the same values, the fantasy models
                # built once instead of 16 times (0.61-0.80 -> 0.49-0.54 s at 200 observations)
                opts = {"maxiter": self.maxiter, "batch_limit": self.num_restarts}
                opts["init_batch_limit"] = self.raw_samples
                with fantasy_mean_cache(model):  # GPyTorch 1.15.2's lost cache: gp_fantasy.py
                    cand, _ = optimize_acqf(
                        acq, bounds=bounds, q=q, num_restarts=self.num_restarts,
                        raw_samples=self.raw_samples, options=opts,
                    )  # fmt: skip
                note = f"qMFKG on {len(X)} points"
                for row in cand.detach().numpy():
                    cfg = self._configs_space.decode(row[:d])
                    out.append(self._spec(cfg, self._snap(row[d]), note, seen))
        return out

    def _pending_x(
        self, pending: Sequence[ExperimentSpec], promoted: list[tuple[dict[str, Any], float]]
    ) -> Any:
        """The in-flight rows (config + fidelity): pending specs, then this batch's promotions."""
        import torch

        rows = [self._encode(c, float(self._space.validate(s.params)[self.fidelity]))
                for s in pending for c in [self._cfg_of(s)] if c is not None]  # fmt: skip
        rows += [self._encode(c, f) for c, f in promoted]
        return torch.as_tensor(np.array(rows), dtype=torch.double) if rows else None

    def _promotable(self, pending: Sequence[ExperimentSpec], seen: set[str]) -> list[Any]:
        """:func:`~perturbo.search.mf_promote.promotable` on this planner's data."""
        busy = {self._configs_space.key(c) for c in map(self._cfg_of, pending) if c is not None}
        reached = {ck: max(at) for ck, at in self._at.items()}  # the highest fidelity told
        args = (self._configs_space.key, reached, busy, self.ladder, self.warm_start)
        return promotable(self._cfg, *args, self._pair_key, seen)

    def _qualifies(self, i: int) -> bool | None:
        """ASHA's cut on row ``i``'s config (``promote="rung"``), else None: the bound decides."""
        ck = self._configs_space.key(self._cfg[i])
        return in_top_of_rung(self._at, ck, self.eta) if self.promote == "rung" else None

    def _pair_key(self, cfg: dict[str, Any], f: float) -> str:
        return self._space.key(self._space.validate({**cfg, self.fidelity: self._value(f)}))

    def _cfg_of(self, spec: ExperimentSpec) -> dict[str, Any] | None:
        try:
            params = self._space.validate(spec.params)
        except InvalidSpec:
            return None
        return {k: v for k, v in params.items() if k != self.fidelity}

    # -- results ----------------------------------------------------------------------------
    def best(self) -> tuple[dict[str, Any], float] | None:
        """The config (less the fidelity) and value (original sign) best at the top fidelity run."""
        if self._bo is not None:
            return self._bo.best()
        if not self._y:
            return None
        s = np.array([x[-1] for x in self._x])
        top = s.max()
        idx = [i for i in range(len(self._y)) if s[i] == top]
        i = max(idx, key=lambda j: self._y[j])
        return self._cfg[i], float(self._y[i] * self.objective.signs[0])


__all__ = ["FIDELITY_NAMES", "MFBOPlanner", "fidelity_ladder", "find_fidelity", "warn_no_fidelity"]
