"""``bo``: Bayesian optimisation over a screen's discrete gene pool.

The model is a GPyTorch/BoTorch exact GP (:class:`botorch.models.SingleTaskGP`) regressing the
screen's binary hit label (1 = hit) on gene identity, with

- the **full-rank set kernel** ``k(g, h) = s^2 exp(-(2 - 2 cos(g, h)) / (2 l^2))`` where
  ``cos`` is the cosine of the genes' TF-IDF gene-set membership vectors
  (:class:`perturbo.kinds.genetic.genesets.GeneKnowledge`). A gene is an index; the kernel reads cosines from
  a dense ``(n_genes, n_tested)`` block grown by one sparse product per round, so no
  ``n_genes x n_genes`` matrix is ever formed;
- a **prior mean** ``ybar + w * (p(g) - mean of p over the tested genes)`` where ``p`` is the
  prior probability of a hit (:mod:`perturbo.search.gene_priors`: transfer from other screens
  + task-text similarity) and ``ybar`` the tested genes' hit rate. The weight ``w`` is chosen
  each round from the grid ``PRIOR_WEIGHTS`` by marginal likelihood plus a Normal(1,
  ``PRIOR_WEIGHT_SD``^2) log prior on ``w`` (a calibrated prior has ``w = 1``), so a useless
  prior fades out as labels arrive and a good one keeps guiding when hits are rare;
- hyper-parameters (length scale ``l``, signal share of the label variance) chosen jointly
  with ``w`` each round by exact marginal likelihood (gpytorch ``ExactMarginalLogLikelihood``)
  on a small grid:
  labels are binary and the grid is robust where gradient fits of a 2-parameter model on
  ~5% positives wander (and it costs ~0.2 s).

Acquisition (``acquisition=``): ``"greedy"`` (posterior mean; the default -- at 5 x 128 budgets
exploitation measured best), ``"ucb"`` (mean + ``beta`` * sd) or ``"thompson"`` (joint
posterior samples over the top ``thompson_candidates`` genes by UCB, one argmax per sample).
Round 1 (no labels) ranks genes by the prior; with no prior it draws uniformly at random.

Public API for other planners (the hybrid agent): :meth:`GeneBOPlanner.rank` and
:meth:`GeneBOPlanner.posterior`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import gpytorch
import numpy as np
import torch
from botorch.models import SingleTaskGP
from gpytorch.mlls import ExactMarginalLogLikelihood

from perturbo.kinds.genetic.genesets import DEFAULT_CACHE, GeneKnowledge
from perturbo.kinds.genetic.screens import Screen, normalize_gene
from perturbo.search import gene_priors
from perturbo.types import ExperimentSpec, Observation, Status

ACQUISITIONS = ("greedy", "ucb", "thompson")
PRIORS = ("transfer+text", "transfer", "text", "none")
LENGTHSCALES = (0.35, 0.5, 0.7, 1.0, 1.4)
SIGNAL_SHARES = (0.1, 0.3, 0.5, 0.7, 0.9)
PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
"""How strongly the prior probability enters the GP mean (picked by marginal likelihood)."""
PRIOR_WEIGHT_SD = 0.5
TEXT_WEIGHT = 0.1
TEXT_CLIP = 3.0
"""The text prior (z-scored, clipped to +-TEXT_CLIP) enters the logit with weight TEXT_WEIGHT:
measured weak (see benchmarks/results/genetic.md), so it nudges rather than leads."""
BASE_RATE = 0.05
"""Prior hit rate assumed where no transfer prior calibrates it (text-only / none)."""


class _SetKernel(gpytorch.kernels.Kernel):
    """``exp(-(1 - cos) / l^2)`` between genes given as ``(n, 1)`` index tensors.

    ``cos_fn(i1, i2) -> (n1, n2)`` tensor of cosines (1 where i1 == i2).
    """

    has_lengthscale = True

    def __init__(self, cos_fn, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self._cos_fn = cos_fn

    def forward(self, x1, x2, diag: bool = False, last_dim_is_batch: bool = False, **params):  # type: ignore[no-untyped-def,override]
        i1 = x1[..., 0].round().long()
        i2 = x2[..., 0].round().long()
        ls2 = self.lengthscale.reshape(-1)[0] ** 2
        if diag:
            same = (i1 == i2).to(x1.dtype)
            return (
                torch.exp(-(1 - same) / ls2)
                if i1.shape == i2.shape
                else torch.ones_like(x1[..., 0])
            )
        return torch.exp(-(1 - self._cos_fn(i1, i2)) / ls2)


class _PriorMean(gpytorch.means.Mean):
    """A fixed mean per gene index (the calibrated prior), looked up from a buffer."""

    def __init__(self, values: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("values", values)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.values[x[..., 0].round().long()]


class GeneBOPlanner:
    """GP-based planner over a screen's genes (name ``"bo"``); see the module docstring.

    ``extra_labels``: earlier campaigns' observed ``gene -> hit`` maps (from MLflow), added to
    the transfer prior's training data as they are; leave out campaigns on this same screen.
    ``knowledge``: gene-set knowledge over ``screen.genes`` (default: the shipped libraries).
    ``prior_scores``: explicit prior P(hit) per gene of ``screen.genes`` (overrides ``prior``;
    e.g. a hybrid planner's own beliefs). ``beta``: UCB exploration weight.
    ``cache_dir``: where gene knowledge and priors are cached (``None``: no disk cache).

    Attributes other planners may read: ``knowledge`` (:class:`GeneKnowledge`), ``prior``
    (P(hit) per gene or ``None``), ``last_fit`` (the hyper-parameters chosen last round).
    """

    name = "bo"

    def __init__(
        self,
        screen: Screen,
        seed: int = 0,
        acquisition: str = "greedy",
        prior: str = "transfer+text",
        extra_labels: Sequence[Mapping[str, bool]] = (),
        beta: float = 0.5,
        thompson_candidates: int = 2000,
        knowledge: GeneKnowledge | None = None,
        cache_dir: Path | None = DEFAULT_CACHE,
        prior_scores: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {ACQUISITIONS}, got {acquisition!r}")
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
        self.screen = screen
        self.acquisition = acquisition
        self.prior_name = prior
        self.beta = beta
        self.thompson_candidates = thompson_candidates
        self._rng = np.random.default_rng(seed)
        self.knowledge = knowledge or GeneKnowledge.for_genes(screen.genes, cache_dir=cache_dir)
        self._n = len(screen.genes)
        self._tie = self._rng.random(self._n) * 1e-9  # seeded tie-break among equal scores
        # P(hit) per gene (aligned with screen.genes), or None
        self.prior = (
            self._make_prior(extra_labels, cache_dir)
            if prior_scores is None
            else _checked_prior(prior_scores, self._n)
        )
        self._labels: dict[int, float] = {}  # gene index -> 1.0 hit / 0.0 not
        self._failed: set[int] = set()
        self._cols: dict[int, int] = {}  # gene index -> column of self._cos
        self._cos = np.zeros((self._n, 0))
        self._model: SingleTaskGP | None = None
        self._fitted_on = -1
        self.last_fit: dict[str, float] = {}

    # -- Planner protocol --------------------------------------------------------------------
    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        exclude = {normalize_gene(str(s.params.get("gene", ""))) for s in pending}
        picked = self.rank(n, exclude)
        note = self._note()
        return [
            ExperimentSpec({"gene": g}, "genetic", planner=self.name, note=note)
            for g, _ in picked
        ]

    def tell(self, observations: Sequence[Observation]) -> None:
        for o in observations:
            gene = normalize_gene(str(o.spec.params.get("gene", "")))
            if gene not in self.screen:
                continue
            i = self.screen.index(gene)
            hit = o.outcome.value("hit")
            if o.outcome.status is Status.COMPLETED and math.isfinite(hit):
                self._labels[i] = 1.0 if hit > 0.5 else 0.0
                self._failed.discard(i)
            elif o.outcome.status is not Status.REJECTED:
                self._failed.add(i)  # ran and failed: do not repeat, but no label to learn

    # -- public scoring API (used by the hybrid planner) --------------------------------------
    def rank(self, n: int, exclude: Sequence[str] | set[str] = ()) -> list[tuple[str, float]]:
        """The ``n`` best untested genes by this planner's acquisition, best first, with their
        acquisition score (greedy: posterior mean = estimated P(hit)). ``exclude``: genes not
        to return (in flight, chosen by someone else)."""
        free = self._free_mask(exclude)
        n = min(n, int(free.sum()))
        if n <= 0:
            return []
        if not self._labels:
            if self.prior is None:  # nothing known at all: uniform random draw
                idx = self._rng.choice(np.flatnonzero(free), size=n, replace=False)
                return [(self.screen.genes[i], float("nan")) for i in idx]
            score = self.prior + self._tie
        elif self.acquisition == "thompson":
            return self._thompson(n, free)
        else:
            mean, sd = self._predict(np.flatnonzero(free), need_sd=self.acquisition == "ucb")
            score = np.full(self._n, -np.inf)
            score[free] = mean + (self.beta * sd if self.acquisition == "ucb" else 0.0)
            score[free] += self._tie[free]
        score = np.where(free, score, -np.inf)
        top = np.argpartition(-score, n - 1)[:n]
        top = top[np.argsort(-score[top])]
        return [(self.screen.genes[i], float(score[i])) for i in top]

    def posterior(self, genes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the hit label for ``genes`` (prior mean and
        prior sd where nothing was observed yet). Unknown genes raise ``KeyError``."""
        idx = np.array([self.screen.index(g) for g in genes], dtype=int)
        if not self._labels:
            base = self.prior if self.prior is not None else np.full(self._n, BASE_RATE)
            return base[idx].copy(), np.full(len(idx), math.sqrt(BASE_RATE * (1 - BASE_RATE)))
        return self._predict(idx, need_sd=True)

    # -- internals -----------------------------------------------------------------------------
    def _make_prior(
        self, extra_labels: Sequence[Mapping[str, bool]], cache_dir: Path | None
    ) -> np.ndarray | None:
        if self.prior_name == "none":
            return None
        transfer = (
            gene_priors.transfer_prior(self.screen, extra_labels, cache_dir=cache_dir)
            if "transfer" in self.prior_name
            else None
        )
        text = (
            gene_priors.text_prior(self.screen, self.knowledge, cache_dir=cache_dir)
            if "text" in self.prior_name
            else None
        )
        if transfer is None and text is None:
            return None
        p = transfer if transfer is not None else np.full(self._n, BASE_RATE)
        logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
        if text is not None:  # alone, the text prior is the whole prior: full weight
            weight = TEXT_WEIGHT if transfer is not None else 1.0
            logit = logit + weight * np.clip(text, -TEXT_CLIP, TEXT_CLIP)
        return 1.0 / (1.0 + np.exp(-logit))

    def _free_mask(self, exclude: Sequence[str] | set[str]) -> np.ndarray:
        free = np.ones(self._n, dtype=bool)
        free[list(self._labels)] = False
        free[list(self._failed)] = False
        for g in exclude:
            g = normalize_gene(g)
            if g in self.screen:
                free[self.screen.index(g)] = False
        return free

    def _note(self) -> str:
        if not self._labels:
            return (
                f"round 1: ranked by the {self.prior_name} prior"
                if self.prior is not None
                else "round 1: random"
            )
        f = self.last_fit
        return (
            f"GP {self.acquisition}: {int(sum(self._labels.values()))} hits in {len(self._labels)} "
            f"tested; lengthscale {f.get('lengthscale', 0):.2f}, signal share "
            f"{f.get('signal_share', 0):.1f}, prior weight {f.get('prior_weight', 0):.2f}"
        )

    def _cosines(self, i1: torch.Tensor, i2: torch.Tensor) -> torch.Tensor:
        """Cosines between gene indices; tested genes' columns come from the dense block."""
        a = i1.reshape(-1).numpy()
        b = i2.reshape(-1).numpy()
        cols = [self._cols.get(int(j), -1) for j in b]
        if min(cols, default=0) >= 0:
            c = self._cos[np.ix_(a, cols)]
        else:  # arbitrary genes (Thompson candidates): sparse product on the fly
            c = self.knowledge.cosine(a, b)
        c = np.where(a[:, None] == b[None, :], 1.0, c)
        return torch.from_numpy(c).reshape(*i1.shape, *i2.shape[-1:])

    def _grow_cosines(self) -> None:
        new = [i for i in self._labels if i not in self._cols]
        if not new:
            return
        block = np.asarray((self.knowledge.membership @ self.knowledge.membership[new].T).todense())
        for k, i in enumerate(new):
            self._cols[i] = self._cos.shape[1] + k
        self._cos = np.hstack([self._cos, block])

    def _fit(self) -> SingleTaskGP:
        """Build the GP on the tested genes and pick (prior weight, length scale, signal share)
        by exact marginal likelihood on a grid."""
        if self._model is not None and self._fitted_on == len(self._labels):
            return self._model
        self._grow_cosines()
        idx = np.fromiter(self._labels, int, len(self._labels))
        y = np.fromiter(self._labels.values(), float, len(self._labels))
        x_t = torch.from_numpy(idx.astype(np.float64)).unsqueeze(-1)
        y_t = torch.from_numpy(y).unsqueeze(-1)
        mean_module = _PriorMean(torch.zeros(self._n, dtype=torch.float64))
        lik = gpytorch.likelihoods.GaussianLikelihood(
            noise_constraint=gpytorch.constraints.GreaterThan(1e-6)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # indices are not in the unit cube, by design
            model = SingleTaskGP(
                x_t,
                y_t,
                likelihood=lik,
                covar_module=gpytorch.kernels.ScaleKernel(_SetKernel(self._cosines)),
                mean_module=mean_module,
                outcome_transform=None,
                input_transform=None,
            )
        mll = ExactMarginalLogLikelihood(lik, model)
        model.train()
        weights = PRIOR_WEIGHTS if self.prior is not None else (0.0,)
        best: tuple[float, float, float, float] = (
            -math.inf,
            0.0,
            LENGTHSCALES[0],
            SIGNAL_SHARES[0],
        )
        with torch.no_grad(), gpytorch.settings.max_cholesky_size(100_000):
            for w in weights:
                mean_vals = self._prior_mean(idx, y, w)
                mean_module.values.copy_(torch.from_numpy(mean_vals))
                var = float(max(np.var(y - mean_vals[idx]), 1e-4))
                for ls in LENGTHSCALES:
                    for share in SIGNAL_SHARES:
                        self._set_hypers(model, ls, share, var)
                        # gpytorch's MLL is per observation: times n, plus the weight's log prior
                        value = float(mll(model(x_t), y_t.squeeze(-1))) * len(
                            y
                        ) + _weight_log_prior(w)
                        if value > best[0]:
                            best = (value, w, ls, share)
        _, w, ls, share = best
        mean_vals = self._prior_mean(idx, y, w)
        mean_module.values.copy_(torch.from_numpy(mean_vals))
        self._set_hypers(model, ls, share, float(max(np.var(y - mean_vals[idx]), 1e-4)))
        model.eval()
        self._model, self._fitted_on = model, len(self._labels)
        self.last_fit = {
            "lengthscale": ls,
            "signal_share": share,
            "mll": best[0],
            "prior_weight": w,
        }
        return model

    @staticmethod
    def _set_hypers(model: SingleTaskGP, lengthscale: float, share: float, var: float) -> None:
        model.covar_module.base_kernel.lengthscale = lengthscale
        model.covar_module.outputscale = share * var
        model.likelihood.noise = (1 - share) * var

    def _prior_mean(self, idx: np.ndarray, y: np.ndarray, weight: float) -> np.ndarray:
        """Prior mean for every gene: ``ybar + weight * (p - mean of p over the tested)``."""
        if self.prior is None:
            return np.full(self._n, float(y.mean()))
        return float(y.mean()) + weight * (self.prior - float(self.prior[idx].mean()))

    def _predict(self, idx: np.ndarray, need_sd: bool) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd of the label at gene indices ``idx``.

        Hand-written from the fitted GP's hyper-parameters (one Cholesky, dense cross-cosines
        to the tested genes): gpytorch's ExactGP prediction also evaluates the test x test
        kernel block even when only the mean is wanted, which measured 2.4 of 2.6 s per round
        on IFNG (cosines among all ~18k untested genes); this path takes ~0.1 s.
        """
        model = self._fit()
        t_idx = np.fromiter(self._labels, int, len(self._labels))
        y = np.fromiter(self._labels.values(), float, len(self._labels))
        ls2 = float(model.covar_module.base_kernel.lengthscale.detach().reshape(-1)[0]) ** 2
        scale = float(model.covar_module.outputscale.detach())
        noise = float(model.likelihood.noise.detach().reshape(-1)[0])
        mean_all = model.mean_module.values.numpy()
        cols = np.array([self._cols[i] for i in t_idx])
        k_tt = scale * np.exp(-(1 - self._cos[np.ix_(t_idx, cols)]) / ls2)
        np.fill_diagonal(k_tt, scale)
        chol = np.linalg.cholesky(k_tt + noise * np.eye(len(t_idx)))
        alpha = _chol_solve(chol, y - mean_all[t_idx])
        k_ut = scale * np.exp(-(1 - self._cos[np.ix_(idx, cols)]) / ls2)
        same = idx[:, None] == t_idx[None, :]
        k_ut[same] = scale
        mean = mean_all[idx] + k_ut @ alpha
        if not need_sd:
            return mean, np.zeros(len(idx))
        from scipy.linalg import solve_triangular  # noqa: PLC0415

        v = solve_triangular(chol, k_ut.T, lower=True)
        var = np.clip(scale - (v * v).sum(axis=0), 0.0, None)
        return mean, np.sqrt(var)

    def _thompson(self, n: int, free: np.ndarray) -> list[tuple[str, float]]:
        """Batch Thompson sampling: ``n`` joint posterior draws over the best candidates by UCB
        (beta 2), each contributing its argmax not yet chosen."""
        free_idx = np.flatnonzero(free)
        mean, sd = self._predict(free_idx, need_sd=True)
        m = min(len(free_idx), max(self.thompson_candidates, 2 * n))
        cand = free_idx[np.argsort(-(mean + 2.0 * sd))[:m]]
        model = self._fit()
        x = torch.from_numpy(cand.astype(np.float64)).unsqueeze(-1)
        with (
            torch.no_grad(),
            gpytorch.settings.max_cholesky_size(100_000),
            torch.random.fork_rng(),  # seeded draws without touching the global torch RNG
            warnings.catch_warnings(),
        ):
            torch.manual_seed(int(self._rng.integers(2**31)))
            warnings.simplefilter("ignore", gpytorch.utils.warnings.NumericalWarning)  # jitter
            post = model.posterior(x)
            draws = post.rsample(torch.Size([n])).squeeze(-1).numpy()  # (n, m)
        chosen: list[tuple[str, float]] = []
        taken: set[int] = set()
        for d in draws:
            for j in np.argsort(-d):
                if int(j) not in taken:
                    taken.add(int(j))
                    chosen.append((self.screen.genes[cand[j]], float(d[j])))
                    break
        return chosen


def _checked_prior(values: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"prior_scores must be {n} probabilities in [0, 1], one per screen gene")
    return arr


def _weight_log_prior(weight: float) -> float:
    """Log prior of the prior-mean weight: Normal(1, PRIOR_WEIGHT_SD^2) -- a calibrated prior is
    trusted until the labels argue otherwise. Tested genes were picked *because* the prior
    ranked them high, so among them the prior looks flat (range restriction); without this term
    marginal likelihood dropped the prior after one unlucky round where hits are rare."""
    return -0.5 * ((weight - 1.0) / PRIOR_WEIGHT_SD) ** 2


def _chol_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve  # noqa: PLC0415

    return cho_solve((chol, True), b)
