"""Batch Bayesian optimisation with BoTorch over a :class:`~perturbo.space.SearchSpace`.

- Model: ``SingleTaskGP`` (``MixedSingleTaskGP`` where the space has unordered categoricals)
  on the unit-cube encoding, with an input ``Normalize`` transform (over the continuous
  columns) and an outcome ``Standardize`` transform; hyperparameters fitted by maximum
  marginal likelihood (BoTorch's default dimension-scaled priors; the categorical kernel's
  lengthscales get a prior too, see :func:`~perturbo.search.bo_kernels.add_categorical_lengthscale_prior`).
- Acquisition: ``qLogNoisyExpectedImprovement`` (one objective) or
  ``qLogNoisyExpectedHypervolumeImprovement`` (several, reference point inferred from the
  observed Pareto front); in-flight experiments are passed as ``X_pending`` so a batch (and
  a second batch while the first runs) spreads out.
- Optimisation: ``optimize_acqf`` (continuous spaces), ``optimize_acqf_mixed_alternating``
  (continuous with ints/categoricals), or, on finite grids (tabular benchmarks),
  ``optimize_acqf_discrete`` over the grid or a candidate set of random configs plus the
  neighbours of the best ones (untested configs only), the GP posterior over that set
  computed once (:mod:`~perturbo.search.bo_discrete`). Kept cheap: under a CPU second per
  proposal at 200 observations.
- The first ``n_init`` points are scrambled Sobol'; so is any proposal made while fewer
  than two usable observations exist or the model cannot be fitted (the spec's ``note``
  says which).

Failed, rejected and NaN outcomes are left out of the model (they still count as seen).
A pruned trial enters with the value it was stopped at.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np

from perturbo.objective import Objective, pareto_mask
from perturbo.search import bo_transforms
from perturbo.search._told import Told
from perturbo.search.baseline_posterior import cached_baseline
from perturbo.search.bo_baseline import BASELINE_CAP, baseline_for
from perturbo.search.bo_model import torch_unit_bounds
from perturbo.search.bo_multi import choose
from perturbo.search.bo_reference import reference_rule
from perturbo.search.gp_refit import HyperparameterCache
from perturbo.search.lazy_pending import defer_pending
from perturbo.search.sobol import SobolPlanner
from perturbo.space import SearchSpace
from perturbo.types import ExperimentSpec, Observation

EXHAUSTED = "every config of the space is told or pending: a told config repeated"  # the note


class BOPlanner:
    """Batch BO (see the module docstring).

    ``n_init``: Sobol' points before the first model (default ``max(5, dim + 1)``, at most 20).
    ``num_restarts``/``raw_samples``/``mc_samples``/``fit_maxiter`` (L-BFGS iterations of the GP
    fit) and ``mixed_options`` (overrides of ``optimize_acqf_mixed_alternating``'s options): the
    cost knobs of one proposal. ``y_warp``/``input_warp``/``noise="low"``/``cat_kernel``: opt-in
    fit changes (search/bo_model.py). ``y_guard`` (on): a value over 100 IQRs worse than the
    lower quartile (a diverged training) is raised to Tukey's fence before the fit
    (:func:`~perturbo.search.bo_transforms.clamp_blow_ups`); the identity otherwise.
    ``y_winsorize`` (opt-in): every value below Tukey's fence is raised to it, as Ax does;
    measured a trade across tasks, not adopted (docs/findings/hyperparameter.md).
    ``refit_every``: the GP's hyperparameters are refitted at multiples of this many
    observations; asks in between condition on every observation with the last fit's
    hyperparameters (search/gp_refit.py: one proposal at a time, as the asynchronous
    schedule asks, no longer pays a fit each). 1: a fit on every ask.
    ``baseline_cap``: qLogNEI's baseline keeps at most this many observed points, those most
    often the best in posterior samples (search/bo_baseline.py); None: every point BoTorch's
    pruning keeps.
    ``ref_point`` (several objectives): qLogNEHVI's reference point inferred from the observed
    Pareto front (``"front"``), the same capped at the 90th percentile of all observations
    (``"capped"``; ``"auto"``, the default, caps with three or more objectives), or from every
    observation (``"data"``, under test), or
    ``{objective: threshold}``: the worst value of each named objective still worth having
    (the others inferred from the front; search/bo_reference.py).
    ``mo_acq`` (several objectives): ``"nehvi"`` (qLogNEHVI, the default) or ``"parego"``
    (qLogNParEGO, one random Chebyshev weight per pick: ~3x quicker with four objectives, see
    search/bo_multi.py).
    ``local_search``: on a grid past ``max_grid``, add to the candidate set the configs met
    climbing the acquisition from its best candidates (search/bo_local.py; under test).
    """

    name = "bo"

    def __init__(
        self,
        space: SearchSpace,
        kind: str = "",
        seed: int = 0,
        objective: str | Sequence[str] = "value",
        direction: str | Sequence[str] = "max",
        n_init: int | None = None,
        num_restarts: int = 3,
        raw_samples: int = 64,
        mc_samples: int = 32,
        maxiter: int = 30,
        max_grid: int = 4096,
        n_random: int = 1024,
        n_top: int = 5,
        cat_prior: float | None = 2**0.5,
        fit_maxiter: int = 50,
        mixed_options: dict[str, Any] | None = None,
        y_warp: bool = False,
        input_warp: bool = False,
        noise: str = "botorch",
        cat_kernel: str = "mixed",
        y_guard: bool = True,
        y_winsorize: bool = False,
        refit_every: int = 4,
        baseline_cap: int | None = BASELINE_CAP,
        ref_point: str | Mapping[str, float] = "auto",
        local_search: bool = False,
        mo_acq: str = "nehvi",
    ) -> None:
        self._space, self._kind, self._seed = space, kind, seed
        self.objective = Objective.of(objective, direction)
        self.ref_point = reference_rule(ref_point, self.objective)
        # several objectives: qLogNEHVI, or qLogNParEGO as an option (search/bo_multi.py)
        self._mo_acq = choose(mo_acq, self.ref_point)
        self._mo_acq = self._mo_acq if self.objective.multi else "qLogNEI"
        self._told = Told(space, self.objective)
        self._sobol = SobolPlanner(space, kind, seed)
        self._sobol.name = self.name
        self.n_init = n_init if n_init is not None else min(20, max(5, space.dim + 1))
        self.num_restarts, self.raw_samples = num_restarts, raw_samples
        self.mc_samples, self.maxiter = mc_samples, maxiter
        self.max_grid, self.n_random, self.n_top = max_grid, n_random, n_top
        self.local_search = local_search  # climb the acquisition on large grids (bo_local.py)
        # LogNormal loc of the categorical lengthscale prior; None: BoTorch's unregularised fit
        self.cat_prior = cat_prior
        if noise not in ("botorch", "low"):
            raise ValueError(f"noise must be 'botorch' or 'low', not {noise!r}")
        self.y_warp, self.input_warp, self.noise = y_warp, input_warp, noise
        self.y_guard, self.y_winsorize = y_guard, y_winsorize
        if cat_kernel not in ("mixed", "matern", "matern-optuna"):
            raise ValueError(
                f"cat_kernel: 'mixed', 'matern' or 'matern-optuna', not {cat_kernel!r}"
            )
        self.cat_kernel = cat_kernel
        # Planner time (issue 20 item 5, commit 9f80506): the fit stops at 50 L-BFGS
        # iterations; the mixed optimiser runs BoTorch's defaults (8 continuous iterations, 2
        # alternations) and scores raw samples and neighbours in one batch (init_batch_limit):
        # 1.9 -> ~0.75 CPU s per proposal at 200 observations on the mixed 6-D space, median
        # regret at 50 unchanged (3 seeds, NB201 x3 and fcnet-protein).
        self.fit_maxiter = fit_maxiter
        self.mixed_options = {
            "maxiter_alternating": 2,
            "maxiter_continuous": 8,
            "maxiter_discrete": 3,
            "init_batch_limit": 512,
            **(mixed_options or {}),
        }
        # hyperparameters refitted every `refit_every` observations (search/gp_refit.py)
        self._refit = HyperparameterCache(refit_every, seed)
        self.baseline_cap = baseline_cap
        self._n_asked = 0
        self.last_ask_s = 0.0  # wall seconds of the last ask (all its proposals)
        self.last_ask_cpu_s = 0.0  # CPU seconds of this process in the last ask
        # No warm start of GP hyperparameters from the last fit: measured, it made fits ~3x
        # cheaper but trapped NAS-Bench-201's categorical kernel (median regret at 50: 0.02 -> 0.14).
        self._configs: list[dict[str, Any]] = []  # usable observations' params, aligned with Told.X

    # -- Planner -------------------------------------------------------------------------
    def tell(self, observations: Sequence[Observation]) -> None:
        for o in observations:
            for _x, y in self._told.add([o]):
                if y is not None:
                    self._configs.append(self._space.validate(o.spec.params))
        self._sobol.tell(observations)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        t0, c0 = time.perf_counter(), time.process_time()
        n_sobol = max(0, min(n, self.n_init - self._told.n_told - len(pending)))
        out: list[ExperimentSpec] = []
        if len(self._told) < 2:
            n_sobol = n
        if n_sobol:
            specs = self._sobol.ask(n_sobol, pending)  # a repeat of a told config is noted
            out += [self._note(s, "; ".join(filter(None, ("sobol initial design", s.note)))) for s in specs]  # fmt: skip
        if n - len(out) > 0 and self._exhausted([*pending, *out]):
            specs = self._sobol.ask(n - len(out), list(pending) + out)
            out += [self._note(s, EXHAUSTED) for s in specs]
        if n - len(out) > 0:
            try:
                out += self._bo(n - len(out), list(pending) + out)
            except Exception as e:  # noqa: BLE001 - a numerical failure must not stop the campaign
                specs = self._sobol.ask(n - len(out), list(pending) + out)
                out += [
                    self._note(s, f"sobol fallback: model failed ({type(e).__name__}: {e})"[:300])
                    for s in specs
                ]
        self._n_asked += len(out)
        self.last_ask_s = time.perf_counter() - t0
        self.last_ask_cpu_s = time.process_time() - c0
        return out

    def _exhausted(self, pending: Sequence[ExperimentSpec]) -> bool:
        """A finite space with every config told or pending: told ones again, as sobol does."""
        unseen = self._sobol._unseen
        return self._space.is_discrete and not unseen.left(self._told.pending_keys(pending))

    def _note(self, s: ExperimentSpec, note: str) -> ExperimentSpec:
        return ExperimentSpec(s.params, self._kind, planner=self.name, note=note)

    # -- the model ------------------------------------------------------------------------
    def _bo(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        import torch  # its thread count is the composition root's (perturbo.launch)

        with torch.random.fork_rng(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(self._seed * 100_003 + self._told.n_told + len(pending))
            X = torch.as_tensor(self._told.X, dtype=torch.double)
            Y = self._train_y(len(X))
            Xp = torch.as_tensor(self._told.pending_x(pending), dtype=torch.double)
            model = self._refit.model(X, Y, self._train_y, self._fit)
            # three or more objectives: the joint posteriors without the baseline's rows
            # recomputed (search/baseline_posterior.py says why not with fewer)
            many = len(self.objective.names) >= 3
            with cached_baseline(model) if many else nullcontext():
                cand = self._candidates(model, X, Y, Xp, n, pending)
        return self._to_specs(
            cand.detach().numpy(), pending, model_note=f"{self._acq_name} on {len(X)} points"
        )

    def _candidates(
        self, model: Any, X: Any, Y: Any, Xp: Any, n: int, pending: Sequence[ExperimentSpec]
    ) -> Any:
        """``n`` points from the acquisition on ``model``, ``Xp`` pending."""
        if self._mo_acq == "parego":
            from perturbo.search.bo_multi import parego_batch

            self._acq_name = "qLogNParEGO"
            pick = lambda acq, picks: self._pick(acq, 1, pending, picks)  # noqa: E731
            return parego_batch(model, X, Xp if len(Xp) else None, n, self.mc_samples, pick)
        return self._pick(self._acquisition(model, X, Y, Xp if len(Xp) else None), n, pending)

    def _pick(self, acq: Any, q: int, pending: Sequence[ExperimentSpec], picks: Any = None) -> Any:
        """``q`` candidates maximising ``acq``; ``picks``: rows already chosen this ask."""
        acq = defer_pending(acq) if q > 1 else acq  # search/lazy_pending.py
        if not self._space.is_discrete:
            return self._optimize(acq, q)
        chosen = [
            ExperimentSpec(self._space.decode(r), self._kind)
            for r in (picks.numpy() if picks is not None else [])
        ]
        return self._optimize_discrete(acq, q, [*pending, *chosen])

    def _train_y(self, m: int) -> Any:
        """The GP's targets from the first ``m`` usable observations (guarded, warped)."""
        import torch

        Y = self._told.Y[:m]
        Y = bo_transforms.clamp_blow_ups(Y) if self.y_guard else Y
        Y = bo_transforms.winsorize_bad_tail(Y) if self.y_winsorize else Y
        Y = bo_transforms.warp_outcomes(Y) if self.y_warp else Y
        return torch.as_tensor(Y, dtype=torch.double)

    def _fit(self, X: Any, Y: Any, hyper: dict[str, Any] | None = None) -> Any:
        from perturbo.search.bo_model import fit_gp

        return fit_gp(
            self._space,
            X,
            Y,
            cat_prior=self.cat_prior,
            cat_kernel=self.cat_kernel,
            noise=self.noise,
            input_warp=self.input_warp,
            fit_maxiter=self.fit_maxiter,
            hyper=hyper,
        )

    def _acquisition(self, model: Any, X: Any, Y: Any, Xp: Any) -> Any:
        import torch
        from botorch.sampling import SobolQMCNormalSampler

        sampler = SobolQMCNormalSampler(sample_shape=torch.Size([self.mc_samples]))
        if not self.objective.multi:
            from botorch.acquisition.logei import qLogNoisyExpectedImprovement

            self._acq_name = "qLogNEI"
            X_base, prune = baseline_for(model, X, self.baseline_cap)
            return qLogNoisyExpectedImprovement(
                model,
                X_baseline=X_base,
                X_pending=Xp,
                sampler=sampler,
                prune_baseline=prune,
                cache_root=True,
            )
        from perturbo.search.bo_multi import nehvi

        self._acq_name = "qLogNEHVI"
        return nehvi(model, X, Y, Xp, sampler, self.ref_point, self.objective)

    def _optimize(self, acq: Any, q: int) -> Any:
        d = self._space.dim
        bounds = torch_unit_bounds(d)
        discrete = {i: v for i, v in self._space.discrete_dims.items() if v}
        if not discrete:
            return self._optimize_continuous(acq, q, bounds)
        from perturbo.search.bo_mixed import optimize_mixed

        return optimize_mixed(acq, q, bounds, discrete, self._space.cat_dims, self.num_restarts,
                              self.raw_samples, self.mixed_options)  # fmt: skip

    def _optimize_continuous(self, acq: Any, q: int, bounds: Any) -> Any:
        from perturbo.search.bo_continuous import optimize_continuous

        X, Y = self._told.X, self._told.Y
        top = (
            X[np.argsort(-Y[:, 0])[: self.n_top]] if not self.objective.multi else X[pareto_mask(Y)]
        )
        return optimize_continuous(
            acq, q, bounds, top, self.raw_samples, self.num_restarts, self.maxiter
        )

    def _optimize_discrete(self, acq: Any, q: int, pending: Sequence[ExperimentSpec]) -> Any:
        """Finite grids: greedy sequential q-batch over a candidate set (BoTorch's
        ``optimize_acqf_discrete``): the whole grid up to ``max_grid`` configs, else
        ``n_random`` random configs plus every neighbour of the best observed ones. Configs
        already run or pending are left out, so proposals never repeat."""
        import torch

        from perturbo.search.bo_discrete import greedy_batch

        space = self._space
        taken = set(self._told.keys) | self._told.pending_keys(pending)
        if space.size() <= self.max_grid:
            cands = space.grid()
        else:
            rng = np.random.default_rng(self._seed * 31 + self._told.n_told)
            cands = space.sample(rng, self.n_random, set())
            order = (
                np.argsort(-self._told.Y[:, 0])
                if not self.objective.multi
                else np.flatnonzero(pareto_mask(self._told.Y))
            )
            for i in list(order)[: self.n_top]:
                cands += space.neighbours(self._configs[i])
                cands += [
                    c
                    for nb in space.neighbours(self._configs[i], steps=1)[:12]
                    for c in space.neighbours(nb, steps=1)
                ]
        uniq: dict[str, dict[str, Any]] = {}
        for c in cands:
            k = space.key(c)
            if k not in taken:
                uniq.setdefault(k, c)
        if self.local_search and space.size() > self.max_grid and uniq:
            from perturbo.search.bo_local import climb

            for c in climb(acq, space, list(uniq.values()), taken):
                uniq.setdefault(space.key(c), c)
        if len(uniq) < q:
            raise RuntimeError(f"only {len(uniq)} untested configs left in the candidate set")
        X = torch.as_tensor(space.encode_many(list(uniq.values())), dtype=torch.double)
        return greedy_batch(acq, X, q)

    def _to_specs(
        self, x: np.ndarray, pending: Sequence[ExperimentSpec], model_note: str
    ) -> list[ExperimentSpec]:
        """Decode candidates; a duplicate of a run, pending or batch config is swapped for a
        random one (it would add little and, in small grids, repeats forever)."""
        seen = set(self._told.keys) | self._told.pending_keys(pending)
        rng = np.random.default_rng(self._seed * 7919 + self._told.n_told)
        out = []
        for row in x:
            params = self._space.decode(row)
            note = model_note
            if self._space.key(params) in seen:
                params = self._space.sample(rng, 1, seen)[0]
                note = f"{model_note}; duplicate candidate replaced by a random config"
            seen.add(self._space.key(params))
            out.append(ExperimentSpec(params, self._kind, planner=self.name, note=note))
        return out

    # -- results ----------------------------------------------------------------------------
    def pareto_front(self) -> list[tuple[dict[str, Any], dict[str, float]]]:
        """Non-dominated observed configs and their objective values (original signs)."""
        Y = self._told.Y
        if not len(Y):
            return []
        mask = pareto_mask(Y)
        vals = Y * self.objective.signs
        return [
            (self._configs[i], dict(zip(self.objective.names, map(float, vals[i]), strict=True)))
            for i in np.flatnonzero(mask)
        ]

    def best(self) -> tuple[dict[str, Any], float] | None:
        """The best observed config of the (first) objective and its value."""
        Y = self._told.Y
        if not len(Y):
            return None
        i = int(np.argmax(Y[:, 0]))
        return self._configs[i], float(Y[i, 0] * self.objective.signs[0])
