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

**Parts**: construction of the prior components is :mod:`.gene_components`; what the planner was
told and the GP fitted on it, :mod:`.gene_model`; the batch builders (:mod:`.gene_batch`) and the
set-level explorer (:mod:`.gene_explore`) get one ``ask``'s frozen :class:`.gene_state.Picking`,
never the planner; this module picks the acquisition and writes the round's note.
Public API for other planners (the hybrid agent): :meth:`GeneBOPlanner.rank`,
:meth:`GeneBOPlanner.posterior`, :attr:`GeneBOPlanner.sources`.
"""

from __future__ import annotations

import json
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
from perturbo.kinds.genetic.planners import gene_why as why
from perturbo.kinds.genetic.planners.gene_coverage import COVERAGE_WARN, coverage_warning
from perturbo.kinds.genetic.planners.gene_model import PRIOR_WEIGHT_SD, GeneModel, weights_text
from perturbo.kinds.genetic.planners.gene_priors import LabelSource
from perturbo.kinds.genetic.planners.gene_state import Picking
from perturbo.kinds.genetic.screens import ScreenView, normalize_gene
from perturbo.types import ExperimentSpec, Observation, counted

__all__ = [
    "ACQUISITIONS",
    "COVERAGE_WARN",
    "PRIORS",
    "PRIOR_WEIGHT_SD",
    "GeneBOPlanner",
    "coverage_warning",
]

log = logging.getLogger(__name__)

ACQUISITIONS = ("greedy", "ucb", "thompson", "rwr")
PRIORS = ("transfer+text", "transfer", "text", "none")
TEXT_CLIP = gene_components.TEXT_CLIP
BASE_RATE = gene_components.BASE_RATE
KERNEL_GRID = (gene_gp.LINEAR,)
"""Kernels the marginal likelihood may choose from. Only the linear one: letting it choose
among exponential kernels too picked the local ones and lost hits (IFNG 0.110 -> 0.098,
Scharenberg22 0.326 -> 0.325 with the exponential grid beside it; exponential alone: 0.093 /
0.309); the likelihood of binary labels is not the ranking quality a campaign needs."""


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
    ``None``), ``sources`` (``[(name, round-1 weight)]``), ``last_fit``, ``deterministic``;
    :meth:`describe` for the campaign's params.
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
        left_out: Sequence[str] = (),
    ) -> None:
        _check_options(acquisition, prior, target)
        view = screen.view() if hasattr(screen, "view") else screen  # never keep the labels
        self.screen: ScreenView = view
        self.acquisition = acquisition
        self.prior_name = prior
        self.target = target
        self.beta = beta
        self.thompson_candidates = thompson_candidates
        self.liar = liar
        self.explore_first = explore_first
        self.hedge = hedge
        self.degree = degree
        self.set_explore = set_explore  # off only to measure it: the data set its share
        self.left_out = tuple(left_out)  # transfer sources dropped: too few shared genes
        self._rng = np.random.default_rng(seed)
        self.knowledge = knowledge or GeneKnowledge.for_genes(view.genes, cache_dir=cache_dir)
        self._n = len(view.genes)
        self.coverage_warning = coverage_warning(view, self.knowledge)
        if self.coverage_warning:
            warnings.warn(self.coverage_warning, stacklevel=2)
            log.warning(self.coverage_warning)
        self._tie = self._rng.random(self._n) * 1e-9  # seeded tie-break among equal scores
        if prior_scores is not None:
            comps = gene_components.given(prior_scores, self._n)
        else:
            comps = gene_components.build(
                view, self.knowledge, prior, extra_labels, sources, cache_dir, text_rerank
            )
        if degree:  # annotation depth: switched on (w > 0) only if the labels say so
            comps = gene_components.add_degree(comps, self.knowledge)
        self.prior: np.ndarray | None = comps.prior
        self.text_rerank: gene_text.TextRerank | None = comps.text_rerank
        self.sources: list[tuple[str, float]] = list(zip(comps.names, comps.mus, strict=True))
        self.set_picks = [0, 0]  # [last batch, all batches] picked by set-level Thompson
        self.pick_reasons: dict[str, str] = {}  # the last batch: gene -> what chose it (why.*)
        self.deterministic = (
            self.prior is not None and acquisition != "thompson" and not explore_first and not hedge
        )
        self._model = GeneModel(
            view,
            self.knowledge,
            comps.names,
            np.array(comps.comps) if comps.comps else np.zeros((0, self._n)),
            np.array(comps.mus, dtype=float),
            target,
            KERNEL_GRID,
            BASE_RATE * (1 - BASE_RATE),
        )

    # -- state read by tests and benchmarks ------------------------------------------------------
    @property
    def last_fit(self) -> dict[str, object]:
        """The last GP fit: length scale, signal share, prior weights, score share, ..."""
        return self._model.last_fit

    @property
    def kernel_grid(self) -> tuple[float, ...]:
        return self._model.kernel_grid

    @property
    def _labels(self) -> dict[int, float]:
        return self._model.labels

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
        self._model.observe(observations)

    @property
    def uniform_genes(self) -> frozenset[str]:
        """The genes drawn uniformly at random (round 1's hedged half, or a uniform round): an
        unbiased sample of the library, which a lab's remaining-hits estimate stands on."""
        return frozenset(self.screen.genes[i] for i in self._model.uniform)

    def describe(self) -> dict[str, str | float | int | bool]:
        """This planner's settings and what it built, for the campaign's params (flat values):
        ``prior_sources`` the prior's components and their round-1 weights as JSON (``[]``: no
        prior; the per-round weights travel in each round's notes), ``text_rerank`` what the
        LLM rerank of the text prior did, as JSON (model, how it answered, the top sets before
        and after; ``{"status": "not run"}`` without one)."""
        done = self.text_rerank
        return {
            "planner": self.name,
            "acquisition": self.acquisition,
            "prior": self.prior_name,
            "target": self.target,
            "beta": self.beta,
            "liar": self.liar,
            "hedge": self.hedge,
            "explore_first": self.explore_first,
            "degree": self.degree,
            "set_explore": self.set_explore,
            "deterministic": self.deterministic,
            "prior_sources": json.dumps(
                [{"name": n, "weight": round(float(w), 4)} for n, w in self.sources]
            ),
            "text_rerank": json.dumps(
                done.summary() if done is not None else {"status": "not run"}
            ),
            "coverage_warning": self.coverage_warning or "",
        }

    # -- public scoring API (used by the hybrid planner) --------------------------------------
    def rank(self, n: int, exclude: Sequence[str] | set[str] = ()) -> list[tuple[str, float]]:
        """The ``n`` best untested genes by this planner's acquisition, best first, with their
        acquisition score (greedy: posterior mean = estimated P(hit)). ``exclude``: genes not
        to return (in flight, chosen by someone else). ``pick_reasons`` then names, per gene,
        the mechanism that chose it."""
        picked, reasons = self._rank(n, exclude)
        self.pick_reasons = why.label(picked, *reasons)
        return picked

    def _rank(
        self, n: int, exclude: Sequence[str] | set[str]
    ) -> tuple[list[tuple[str, float]], tuple[tuple[int, str], ...]]:
        model = self._model
        free = model.free_mask(exclude)
        n = min(n, int(free.sum()))
        if n <= 0:
            return [], ()
        reason = why.UCB if self.acquisition == "ucb" else why.MEAN
        if not model.labels:
            reason = why.PRIOR
            if self.prior is None:  # nothing known at all: uniform random draw
                idx = self._rng.choice(np.flatnonzero(free), size=n, replace=False)
                model.uniform.update(int(i) for i in idx)
                return [(self.screen.genes[i], float("nan")) for i in idx], ((n, why.UNIFORM),)
            if self.explore_first:
                picked = gene_batch.prior_thompson(self._picking(), n, free)
                return picked, ((n, why.PRIOR_THOMPSON),)
            if self.hedge:
                picked, drawn = gene_batch.hedged(self._picking(), n, free)
                model.uniform.update(drawn)
                return picked, ((n - len(drawn), why.PRIOR), (len(drawn), why.UNIFORM))
            score = self.prior + self._tie
        elif self.acquisition == "thompson":
            return gene_batch.thompson(self._picking(fitted=True), n, free), ((n, why.THOMPSON),)
        elif self.acquisition == "rwr":
            reason = why.RWR
            from perturbo.kinds.genetic.planners.gene_propagation import rwr  # noqa: PLC0415

            hits = np.array([i for i, v in model.labels.items() if v > 0.5], int)
            base = self.prior if self.prior is not None else np.zeros(self._n)
            score = rwr(self.knowledge.binary, hits) + 1e-6 * base + self._tie
        elif self.liar and self.acquisition == "greedy":
            picked = gene_batch.constant_liar(self._picking(fitted=True), n, free)
            return picked, ((n, why.MEAN_LIAR),)
        elif self.acquisition == "greedy" and (q := self._rare_picks(n)) > 0:
            picked, drawn = gene_explore.with_sets(self._picking(fitted=True), n, q, free)
            self.deterministic = self.deterministic and not drawn  # the draws used the seed
            self.set_picks = [drawn, self.set_picks[1] + drawn]
            return picked, ((n - q, why.MEAN), (drawn, why.SET_THOMPSON), (n, why.MEAN))
        else:
            mean, sd = model.predict(np.flatnonzero(free), need_sd=self.acquisition == "ucb")
            score = np.full(self._n, -np.inf)
            score[free] = mean + (self.beta * sd if self.acquisition == "ucb" else 0.0)
            score[free] += self._tie[free]
        score = np.where(free, score, -np.inf)
        top = np.argpartition(-score, n - 1)[:n]
        top = top[np.argsort(-score[top])]
        flat = self.last_fit.get("score_share", 0.0) == 0.0  # the labels alone, all misses
        if self.prior is None and model.labels and not any(model.labels.values()) and flat:
            model.uniform.update(int(i) for i in top)  # no hit, no prior: a flat mean, ties
        return [(self.screen.genes[i], float(score[i])) for i in top], ((n, reason),)

    def posterior(self, genes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the hit label for ``genes`` (prior mean and
        prior sd where nothing was observed yet). Unknown genes raise ``KeyError``."""
        idx = np.array([self.screen.index(g) for g in genes], dtype=int)
        if not self._model.labels:
            base = self.prior if self.prior is not None else np.full(self._n, BASE_RATE)
            return base[idx].copy(), np.full(len(idx), math.sqrt(BASE_RATE * (1 - BASE_RATE)))
        return self._model.predict(idx, need_sd=True)

    def fit(self) -> gene_gp.GPFit:
        """The GP on the tested genes, hyper-parameters and prior weights by marginal
        likelihood (refit only when labels were added)."""
        return self._model.fit()

    # -- internals -----------------------------------------------------------------------------
    def _picking(self, fitted: bool = False) -> Picking:
        """This ask's view of the planner for the batch builders (with the fitted GP if asked)."""
        return Picking(
            self.screen.genes,
            self.knowledge,
            self._tie,
            self._rng,
            self.prior,
            self.kernel_grid[0],
            self.thompson_candidates,
            self._model.fitted() if fitted else None,
        )

    def _rare_picks(self, n: int) -> int:
        """How many of ``n`` greedy picks go to set-level exploration (0 with it off)."""
        if not self.set_explore:
            return 0
        share = gene_explore.rare_share(self._model.labels, self._model.uniform)
        if share is not None:
            self.last_fit["set_share"] = round(share, 3)
        return gene_explore.rare_picks(share, n)

    def _note(self) -> str:
        labels = self._model.labels
        if not labels:
            left = f"; left out, too few shared genes: {', '.join(self.left_out)}"
            left = left if self.left_out else ""
            if self.prior is None:
                return f"round 1: random{left}"
            return (
                f"round 1: ranked by the {self.prior_name} prior "
                f"({weights_text(self.sources)}){left}"
            )
        f = self.last_fit
        return (
            f"GP {self.acquisition}: {counted(int(sum(labels.values())), 'hits')} in {len(labels)} "
            f"tested; regressing {_target_words(f)}; "
            f"{gene_gp.describe(f.get('lengthscale', 0))} kernel, signal share "
            f"{f.get('signal_share', 0):.1f}; prior weights {f.get('weights_text', 'none')}"
            + (
                f"; {self.set_picks[0]} by set-level Thompson (rare hits)"
                if self.set_picks[0]
                else ""
            )
        )


def _check_options(acquisition: str, prior: str, target: str) -> None:
    if acquisition not in ACQUISITIONS:
        raise ValueError(f"acquisition must be one of {ACQUISITIONS}, got {acquisition!r}")
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    if target not in gene_target.TARGETS:
        raise ValueError(f"target must be one of {gene_target.TARGETS}, got {target!r}")


def _target_words(f: Mapping[str, object]) -> str:
    share = float(f.get("score_share", 0.0))  # type: ignore[arg-type]
    what = {0.0: "the hit labels", 1.0: "the scores"}.get(share, f"labels + scores ({share:.1f})")
    aucs: Mapping[float, float] = f.get("loo_auc") or {}  # type: ignore[assignment]
    if not aucs:
        return what
    tried = " / ".join(f"{w:g} {a:.2f}" for w, a in aucs.items())
    return f"{what} (leave-one-out hit AUC by score share: {tried})"
