"""``bo``: Bayesian optimisation over a screen's discrete gene pool.

The model (:mod:`perturbo.kinds.genetic.planners.gene_gp`) is an exact GP regressing, on gene identity, each
tested gene's hit label -- or, once the campaign's data say so, a blend of it with the gene's
measured score (``target="auto"``, chosen each round by leave-one-out hit ranking:
:mod:`perturbo.kinds.genetic.planners.gene_target`) -- with

- the **linear set kernel** ``k(g, h) = s^2 cos(g, h)`` (:data:`gene_gp.LINEAR`: a Bayesian
  linear regression on gene-set memberships, one weight per set), ``cos`` the cosine of the
  genes' TF-IDF gene-set membership vectors
  (:class:`perturbo.kinds.genetic.genesets.GeneKnowledge`); the cosines to the tested genes
  live in a dense ``(n_genes, n_tested)`` block grown by one sparse product per round;
- a **prior mean** ``ybar + sum_c w_c (p_c - mean_tested(p_c))`` with one component per
  knowledge source (:mod:`perturbo.kinds.genetic.planners.gene_priors`: each transfer source's P(hit), the
  task-text prior). The weights are re-estimated every round from this campaign's labels
  (MAP under a Normal(``mu_c``, ``PRIOR_WEIGHT_SD``^2) prior, ``w >= 0``), jointly with the
  signal share by exact marginal likelihood: a source the labels contradict
  fades to 0 after round 1, a useful one keeps guiding where hits are rare.

Acquisition (``acquisition=``): ``"greedy"`` (posterior mean; at 5 x 128 budgets exploitation
measured best; when the campaign's uniformly sampled genes say hits are rare, a share of the
batch goes to set-level Thompson sampling, :mod:`perturbo.kinds.genetic.planners.gene_explore`), ``"ucb"``
(mean + ``beta`` * sd) or ``"thompson"`` (joint posterior draws over the top
``thompson_candidates`` genes by UCB, one argmax per draw). Round 1 (no labels) ranks genes by
the prior; with no prior it draws uniformly at random.

**Seeds**: with a prior and greedy/ucb acquisition the planner is deterministic (the seed only
breaks exact ties) until a set-level Thompson pick draws from the seeded RNG:
:attr:`GeneBOPlanner.deterministic` says which, and a benchmark reports one run for a
deterministic campaign, not n "seeds".

Planners see a :class:`~perturbo.kinds.genetic.screens.ScreenView` (no scores, no hits).
Public API for other planners (the hybrid agent): :meth:`GeneBOPlanner.rank`,
:meth:`GeneBOPlanner.posterior`, :attr:`GeneBOPlanner.sources`.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from perturbo.kinds.genetic.genesets import DEFAULT_CACHE, GeneKnowledge
from perturbo.kinds.genetic.planners import (
    gene_batch,
    gene_components,
    gene_explore,
    gene_gp,
    gene_target,
    gene_text,
)
from perturbo.kinds.genetic.planners.gene_priors import LabelSource
from perturbo.kinds.genetic.planners.gene_priors import logit as _logit
from perturbo.kinds.genetic.planners.gene_priors import sigmoid as _sigmoid
from perturbo.kinds.genetic.screens import ScreenView, normalize_gene
from perturbo.types import ExperimentSpec, Observation, Status

__all__ = ["ACQUISITIONS", "PRIORS", "GeneBOPlanner", "coverage_warning"]

log = logging.getLogger(__name__)

ACQUISITIONS = ("greedy", "ucb", "thompson", "rwr")
PRIORS = ("transfer+text", "transfer", "text", "none")
PRIOR_WEIGHT_SD = 0.5
"""Sd of the Normal prior on each component weight: a calibrated prior is trusted (w = mu)
until the labels argue otherwise. Tested genes were picked *because* the prior ranked them
high, so among them the prior looks flat (range restriction); without this term marginal
likelihood dropped the prior after one unlucky round where hits are rare."""
TEXT_CLIP = gene_components.TEXT_CLIP
BASE_RATE = gene_components.BASE_RATE
KERNEL_GRID = (gene_gp.LINEAR,)
"""Kernels the marginal likelihood may choose from. Only the linear one: letting it choose
among exponential kernels too picked the local ones and lost hits (IFNG 0.110 -> 0.098,
Scharenberg22 0.326 -> 0.325 with the exponential grid beside it; exponential alone: 0.093 /
0.309); the likelihood of binary labels is not the ranking quality a campaign needs."""
COVERAGE_WARN = 0.5
"""Warn when fewer than this share of the screen's genes are in any gene set."""


def coverage_warning(view: ScreenView, knowledge: GeneKnowledge) -> str | None:
    """A warning when most genes match no gene set (Ensembl IDs, old aliases): the planner
    then has no knowledge to go on for them."""
    if len(view) == 0:
        return None
    rows = np.diff(knowledge.membership.indptr) > 0
    share = float(rows.mean())
    if share >= COVERAGE_WARN:
        return None
    unmatched = [g for g, r in zip(view.genes, rows, strict=True) if not r][:3]
    return (
        f"screen {view.name}: only {share:.0%} of its {len(view)} genes match a gene set "
        f"(unmatched e.g. {', '.join(unmatched)}), so bo has little knowledge to learn from "
        "and behaves close to random for them; map the Gene column to current HGNC symbols "
        "(e.g. Ensembl IDs -> symbols with biomart/mygene) and rerun"
    )


class GeneBOPlanner:
    """GP-based planner over a screen's genes (name ``"bo"``); see the module docstring.

    ``screen``: the label-free :class:`ScreenView` (a labelled ``Screen`` is reduced to its
    view at once). ``sources``: transfer label sources already checked against the screen's
    content (:func:`gene_priors.training_sources`, done by whoever holds the labelled screen);
    ``None``: the shipped screens and ``extra_labels`` minus this screen's name/study.
    ``knowledge``: gene-set knowledge over the screen's genes (default: shipped libraries).
    ``prior_scores``: explicit prior P(hit) per gene (overrides ``prior``), or ``{name: P(hit)}``
    for several components weighed like transfer sources. ``beta``: UCB
    weight. ``cache_dir``: where gene knowledge and priors are cached (``None``: none).
    ``text_rerank``: reorders the text prior's top gene sets (an LLM; see
    :func:`gene_text.reranked_text_prior`); what it did is kept in ``text_rerank``.

    Attributes other planners may read: ``knowledge``, ``prior`` (round-1 P(hit) per gene or
    ``None``), ``sources`` (``[(name, round-1 weight)]``), ``last_fit``, ``deterministic``.
    """

    name = "bo"

    def __init__(
        self,
        screen: ScreenView,
        seed: int = 0,
        acquisition: str = "greedy",
        prior: str = "transfer+text",
        extra_labels: Sequence[Mapping[str, bool] | LabelSource] = (),
        beta: float = 0.5,
        thompson_candidates: int = 2000,
        knowledge: GeneKnowledge | None = None,
        cache_dir: Path | None = DEFAULT_CACHE,
        prior_scores: Sequence[float] | np.ndarray | Mapping[str, np.ndarray] | None = None,
        sources: Sequence[LabelSource] | None = None,
        degree: bool = False,
        liar: bool = False,
        explore_first: bool = False,
        hedge: bool = False,
        set_explore: bool = True,
        text_rerank: gene_text.SetReranker | None = None,
        target: str = "auto",
    ) -> None:
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {ACQUISITIONS}, got {acquisition!r}")
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
        if target not in gene_target.TARGETS:
            raise ValueError(f"target must be one of {gene_target.TARGETS}, got {target!r}")
        self.target = target
        view = screen.view() if hasattr(screen, "view") else screen  # never keep the labels
        self.screen: ScreenView = view
        self.acquisition = acquisition
        self.prior_name = prior
        self.beta = beta
        self.thompson_candidates = thompson_candidates
        self._reranker = text_rerank
        self.text_rerank: gene_text.TextRerank | None = None
        self.kernel_grid = KERNEL_GRID
        self._rng = np.random.default_rng(seed)
        self.knowledge = knowledge or GeneKnowledge.for_genes(view.genes, cache_dir=cache_dir)
        self._n = len(view.genes)
        self.coverage_warning = coverage_warning(view, self.knowledge)
        if self.coverage_warning:
            warnings.warn(self.coverage_warning, stacklevel=2)
            log.warning(self.coverage_warning)
        self._tie = self._rng.random(self._n) * 1e-9  # seeded tie-break among equal scores
        names: list[str] = []
        comps: list[np.ndarray] = []
        mus: list[float] = []
        if prior_scores is not None:
            given = prior_scores if isinstance(prior_scores, Mapping) else {"given": prior_scores}
            names = list(given)
            comps = [_checked_prior(v, self._n) for v in given.values()]
            mus = [1.0 / len(comps)] * len(comps)
            self.prior: np.ndarray | None = _sigmoid(np.mean([_logit(c) for c in comps], axis=0))
        else:
            built = gene_components.build(
                self.screen,
                self.knowledge,
                self.prior_name,
                extra_labels,
                sources,
                cache_dir,
                self._reranker,
            )
            self.prior, self.text_rerank = built.prior, built.text_rerank
            names, comps, mus = built.names, built.comps, built.mus
        if degree:  # annotation depth: switched on (w > 0) only if the labels say so
            deg = np.log1p(np.diff(self.knowledge.binary.indptr).astype(float))
            z = np.clip((deg - deg.mean()) / (deg.std() or 1.0), -TEXT_CLIP, TEXT_CLIP)
            names.append("degree")
            comps.append(_sigmoid(_logit(np.array(BASE_RATE)) + z))
            mus.append(0.0)
        self.liar = liar
        self.explore_first = explore_first
        self.hedge = hedge
        self.set_explore = set_explore  # off only to measure it: the data set its share
        self._uniform: set[int] = set()  # genes sampled uniformly (round 1 / its random half)
        self.set_picks = [0, 0]  # [last batch, all batches] picked by set-level Thompson
        self._comp_names = tuple(names)
        self._comps = np.array(comps) if comps else np.zeros((0, self._n))
        self._mu = np.array(mus, dtype=float)
        self.sources: list[tuple[str, float]] = list(zip(names, mus, strict=True))
        self.deterministic = (
            self.prior is not None and acquisition != "thompson" and not explore_first and not hedge
        )
        self._labels: dict[int, float] = {}  # gene index -> 1.0 hit / 0.0 not
        self._scores: dict[int, float] = {}  # gene index -> measured score (when reported)
        self._failed: set[int] = set()
        self._cols: dict[int, int] = {}  # gene index -> column of self._cos
        self._cos = np.zeros((self._n, 0), dtype=np.float32)
        self._fit: gene_gp.GPFit | None = None
        self._fitted_on = -1
        self.last_fit: dict[str, object] = {}

    # -- Planner protocol --------------------------------------------------------------------
    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        exclude = {normalize_gene(str(s.params.get("gene", ""))) for s in pending}
        self.set_picks[0] = 0
        picked = self.rank(n, exclude)
        note = self._note()
        return [
            ExperimentSpec({"gene": g}, "genetic", planner=self.name, note=note) for g, _ in picked
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
                if math.isfinite(score := o.outcome.value("score")):
                    self._scores[i] = score
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
                self._uniform.update(int(i) for i in idx)
                return [(self.screen.genes[i], float("nan")) for i in idx]
            if self.explore_first:
                return gene_batch.prior_thompson(self, n, free)
            if self.hedge:
                return gene_batch.hedged(self, n, free)
            score = self.prior + self._tie
        elif self.acquisition == "thompson":
            return gene_batch.thompson(self, n, free)
        elif self.acquisition == "rwr":
            from perturbo.kinds.genetic.planners.gene_propagation import rwr  # noqa: PLC0415

            hits = np.array([i for i, v in self._labels.items() if v > 0.5], int)
            base = self.prior if self.prior is not None else np.zeros(self._n)
            score = rwr(self.knowledge.binary, hits) + 1e-6 * base + self._tie
        elif self.liar and self.acquisition == "greedy":
            return gene_batch.constant_liar(self, n, free)
        elif self.acquisition == "greedy" and (q := gene_explore.rare_picks(self, n)) > 0:
            return gene_explore.with_sets(self, n, q, free)
        else:
            mean, sd = self._predict(np.flatnonzero(free), need_sd=self.acquisition == "ucb")
            score = np.full(self._n, -np.inf)
            score[free] = mean + (self.beta * sd if self.acquisition == "ucb" else 0.0)
            score[free] += self._tie[free]
        score = np.where(free, score, -np.inf)
        top = np.argpartition(-score, n - 1)[:n]
        top = top[np.argsort(-score[top])]
        flat = self.last_fit.get("score_share", 0.0) == 0.0  # the labels alone, all misses
        if self.prior is None and self._labels and not any(self._labels.values()) and flat:
            self._uniform.update(int(i) for i in top)  # no hit, no prior: a flat mean, ties
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
            if self.prior is None:
                return "round 1: random"
            return f"round 1: ranked by the {self.prior_name} prior ({_weights(self.sources)})"
        f = self.last_fit
        return (
            f"GP {self.acquisition}: {int(sum(self._labels.values()))} hits in {len(self._labels)} "
            f"tested; regressing {_target_words(f)}; "
            f"{gene_gp.describe(f.get('lengthscale', 0))} kernel, signal share "
            f"{f.get('signal_share', 0):.1f}; prior weights {f.get('weights_text', 'none')}"
            + (
                f"; {self.set_picks[0]} by set-level Thompson (rare hits)"
                if self.set_picks[0]
                else ""
            )
        )

    def _grow_cosines(self) -> None:
        new = [i for i in self._labels if i not in self._cols]
        if not new:
            return
        m = self.knowledge.membership
        block = (m @ m[new].T).toarray().astype(np.float32)
        for k, i in enumerate(new):
            self._cols[i] = self._cos.shape[1] + k
        self._cos = np.hstack([self._cos, block])

    def fit(self) -> gene_gp.GPFit:
        """The GP on the tested genes, hyper-parameters and prior weights by marginal
        likelihood (refit only when labels were added)."""
        if self._fit is not None and self._fitted_on == len(self._labels):
            return self._fit
        self._grow_cosines()
        t_idx = np.fromiter(self._labels, int, len(self._labels))
        y = np.fromiter(self._labels.values(), float, len(self._labels))
        cols = np.array([self._cols[i] for i in t_idx])
        cos_tt = self._cos[np.ix_(t_idx, cols)]

        def fit_to(target: np.ndarray) -> gene_gp.GPFit:
            return gene_gp.fit(
                cos_tt,
                t_idx,
                target,
                self._comps,
                self._mu,
                PRIOR_WEIGHT_SD,
                lengthscales=self.kernel_grid,
            )

        scores = None
        if all(i in self._scores for i in t_idx):
            scores = np.array([self._scores[i] for i in t_idx])
        uniform = [self._scores[i] for i in self._uniform if i in self._scores]
        centre = float(np.median(uniform if uniform else scores)) if scores is not None else 0.0
        f, share, aucs = gene_target.choose(
            self.target,
            y,
            scores,
            self.screen.hit_tail,
            centre,
            BASE_RATE * (1 - BASE_RATE),
            fit_to,
        )
        self._fit, self._fitted_on = f, len(self._labels)
        weights = dict(zip(self._comp_names, f.weights.round(3).tolist(), strict=True))
        self.last_fit = {
            "lengthscale": f.lengthscale,
            "signal_share": f.share,
            "mll": f.log_evidence,
            "weights": weights,
            "weights_text": _weights(list(weights.items())),
            "prior_weight": float(f.weights.sum()),
            "score_share": share,
            "loo_auc": aucs,
        }
        return f

    def _predict(self, idx: np.ndarray, need_sd: bool) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd of the label at gene indices ``idx`` (one eigendecomposition
        per fit, dense cross-cosines to the tested genes: ~0.1 s for 18k genes)."""
        f = self.fit()
        t_idx = np.fromiter(self._labels, int, len(self._labels))
        cols = np.array([self._cols[i] for i in t_idx])
        cos = self._cos[idx] if np.array_equal(cols, np.arange(len(cols))) else None
        if cos is None:  # columns out of label order (never in practice): gather them
            cos = self._cos[np.ix_(idx, cols)]
        same = idx[:, None] == t_idx[None, :] if np.isin(idx, t_idx).any() else None
        return gene_gp.predict(f, cos, same, f.mean_all[idx], need_sd)


def _target_words(f: Mapping[str, object]) -> str:
    share = float(f.get("score_share", 0.0))  # type: ignore[arg-type]
    what = {0.0: "the hit labels", 1.0: "the scores"}.get(share, f"labels + scores ({share:.1f})")
    aucs: Mapping[float, float] = f.get("loo_auc") or {}  # type: ignore[assignment]
    if not aucs:
        return what
    tried = " / ".join(f"{w:g} {a:.2f}" for w, a in aucs.items())
    return f"{what} (leave-one-out hit AUC by score share: {tried})"


def _weights(items: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in items) or "none"


def _checked_prior(values: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"prior_scores must be {n} probabilities in [0, 1], one per screen gene")
    return arr
