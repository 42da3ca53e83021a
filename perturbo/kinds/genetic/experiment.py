"""The genetic kind: knock out one gene of a CRISPR screen per experiment.

- :class:`GenePool` is the space (``{"gene": "IFNG"}``; each gene runs once).
- :class:`GeneticExecutor` holds a :class:`Screen` and "performs" a knockout: it returns the
  gene's measured score and whether it is a hit.
- :class:`GeneticMetrics` reports hits per round, precision per round and the hit ratio
  (hits found / all hits of the screen, BioDiscoveryAgent's metric).

Screens themselves (built-in or a user's CSV) are loaded in :mod:`perturbo.kinds.genetic.screens`.
"""

from __future__ import annotations

import difflib
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from perturbo.kinds.genetic.screens import (
    HIT_FRACTION,
    Screen,
    builtin_screens,
    load_screen,
    normalize_gene,
)
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Outcome, Status, rejected

__all__ = [
    "HIT_FRACTION",
    "GeneticExecutor",
    "GeneticMetrics",
    "GenePool",
    "Screen",
    "builtin_screens",
    "hit_ratio_curve",
    "load_screen",
    "normalize_gene",
    "tested_labels",
]


class GenePool:
    """The genes of a screen as a search space: params ``{"gene": SYMBOL}``, each gene once.

    A gene is matched ignoring case (its :meth:`key` is the normalised symbol) and validated to
    the screen file's own spelling (``spelling``: normalised symbol -> that spelling, for the
    genes spelled otherwise; :attr:`~.screens.Screen.spelling`), so what is run, recorded and
    shown is the user's ``Cd247``, never an upper-cased ``CD247``. A record of either spelling
    (a store written before this kept the upper case) has the same key: a resume matches it."""

    unique = True

    def __init__(self, genes: Iterable[str], spelling: Mapping[str, str] | None = None) -> None:
        self.genes: tuple[str, ...] = tuple(dict.fromkeys(normalize_gene(g) for g in genes))
        self._known = frozenset(self.genes)
        self._spelling = {g: spelling[g] for g in self.genes if g in (spelling or {})}
        self._by_first: dict[str, list[str]] = {}
        for g in self.genes:
            self._by_first.setdefault(g[:1], []).append(g)

    def __len__(self) -> int:
        return len(self.genes)

    def __contains__(self, gene: object) -> bool:
        return isinstance(gene, str) and normalize_gene(gene) in self._known

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(params, Mapping) or "gene" not in params:
            raise InvalidSpec(
                f"a genetic experiment needs params {{'gene': SYMBOL}}, got {params!r}"
            )
        raw = params["gene"]
        if not isinstance(raw, str):
            raise InvalidSpec(f"gene must be a symbol string, got {type(raw).__name__} {raw!r}")
        gene = normalize_gene(raw)
        if not gene:
            raise InvalidSpec("gene is empty")
        if gene not in self._known:
            shown = raw.strip()  # as the user wrote it (matched by its key)
            raise InvalidSpec(f"{shown} is not a gene of this screen{self._suggest(gene)}")
        return {"gene": self.spell(gene)}

    def spell(self, gene: str) -> str:
        """``gene`` (any case) as the screen spells it."""
        key = normalize_gene(gene)
        return self._spelling.get(key, key)

    def suggestions(self, gene: str, n: int = 3) -> list[str]:
        """Close matches among the pool's symbols (difflib), best first, as the screen
        spells them."""
        gene = normalize_gene(gene)
        # Same first letter first (fast: ~1k candidates instead of ~19k), then the whole pool.
        near = difflib.get_close_matches(gene, self._by_first.get(gene[:1], []), n=n, cutoff=0.75)
        near = near or difflib.get_close_matches(gene, self.genes, n=n, cutoff=0.8)
        return [self.spell(g) for g in near]

    def _suggest(self, gene: str) -> str:
        near = self.suggestions(gene)
        return f" (did you mean {', '.join(near)}?)" if near else ""

    def key(self, params: Mapping[str, Any]) -> str:
        return normalize_gene(str(params["gene"]))

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        free = [g for g in self.genes if g not in exclude]  # ``exclude``: keys, as :meth:`key`
        if n <= 0 or not free:
            return []
        pick = rng.choice(len(free), size=min(n, len(free)), replace=False)
        return [{"gene": self.spell(free[i])} for i in pick]


class GeneticExecutor:
    """Runs a knockout against a screen's measured data: ``{"score": s, "hit": 1.0|0.0}``.

    Plain Python and picklable (Ray ships it to actors). Unknown genes come back REJECTED.
    """

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self._worker = f"{socket.gethostname()}"

    def run(self, spec: ExperimentSpec) -> Outcome:
        t0 = time.perf_counter()
        raw = spec.params.get("gene") if isinstance(spec.params, Mapping) else None
        if not isinstance(raw, str) or normalize_gene(raw) not in self.screen:
            return rejected(f"{raw!r} is not a gene of screen {self.screen.name}")
        metrics = {
            "score": self.screen.score(raw),
            "hit": 1.0 if self.screen.is_hit(raw) else 0.0,
        }
        return Outcome(
            Status.COMPLETED, metrics, duration_s=time.perf_counter() - t0, worker=self._worker
        )


def tested_labels(history: Sequence[Observation]) -> dict[str, bool]:
    """gene (or pair) -> hit for every completed genetic experiment in ``history`` (first
    result wins)."""
    out: dict[str, bool] = {}
    for o in history:
        if o.outcome.status is not Status.COMPLETED:
            continue
        if "gene" in o.spec.params:
            key = normalize_gene(str(o.spec.params["gene"]))
        elif "pair" in o.spec.params:
            key = _pair_key(str(o.spec.params["pair"]))
        else:
            continue
        out.setdefault(key, o.outcome.value("hit") > 0.5)
    return out


def _pair_key(raw: str) -> str:
    """A recorded pair's key (as the screen spells it, or upper case in older records)."""
    from perturbo.kinds.genetic.pairs import pair_key

    try:
        return pair_key(raw)
    except ValueError:
        return raw


class GeneticMetrics:
    """Per-round and cumulative metrics of a genetic campaign.

    ``hits_round``: hits among this round's completed knockouts; ``precision_round``: their
    share of the round's completed knockouts; ``hits_total``: distinct hits found so far;
    ``hit_ratio``: ``hits_total`` / all hits of the screen; ``n_tested``: distinct genes tested.
    """

    def __init__(self, screen: Any) -> None:  # a Screen or a PairScreen
        self.n_hits = len(screen.hits)

    def __call__(
        self, round_obs: Sequence[Observation], history: Sequence[Observation]
    ) -> dict[str, float]:
        this_round = tested_labels(round_obs)
        so_far = tested_labels(history)
        hits_round = sum(this_round.values())
        hits_total = sum(so_far.values())
        return {
            "hits_round": float(hits_round),
            "precision_round": hits_round / len(this_round) if this_round else 0.0,
            "hits_total": float(hits_total),
            "hit_ratio": hits_total / self.n_hits if self.n_hits else 0.0,
            "n_tested": float(len(so_far)),
        }


def hit_ratio_curve(history: Sequence[Observation], screen: Screen) -> np.ndarray:
    """Cumulative hit ratio after each round (index = round number), for plots."""
    last = max((o.spec.round for o in history), default=-1)
    out = np.zeros(last + 1)
    metric = GeneticMetrics(screen)
    for r in range(last + 1):
        out[r] = metric([], [o for o in history if o.spec.round <= r])["hit_ratio"]
    return out
