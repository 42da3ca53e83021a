"""Gene-pair (combinatorial) screens: one experiment knocks out two genes together.

A pair screen is a CSV ``Gene_pairs,Score`` whose rows name a pair as ``"('A', 'B')"`` (the
BioDiscoveryAgent format; ``A_B`` -- its hits files' -- and ``A,B`` / ``A+B`` / ``A|B`` also
read). Pairs are unordered and
matched by a canonical key (``"A+B"``, members normalised as genes and sorted), but shown and
recorded as the screen file spells their genes (``"Cd247+Cd3e"``: :meth:`PairScreen.spell`, as
for single genes). Hits: ``--hits`` (one pair per line) or the top 5% by
the ``hit_tail`` rule, as for single genes; the hit ratio is hits found / all hit pairs.

- :class:`PairScreen` (labelled, the executor's) and :meth:`PairScreen.view` (label-free);
- :class:`PairPool`: the space, params ``{"pair": "A+B"}``, each pair once;
- :class:`PairExecutor`: returns the pair's score and hit.

:func:`tested_labels` / :class:`GeneticMetrics` in :mod:`.experiment` read ``pair`` params too.
"""

from __future__ import annotations

import csv
import math
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perturbo.kinds.genetic.screen_files import hits_file_lines
from perturbo.kinds.genetic.screens import csv_table, normalize_gene, top_fraction
from perturbo.types import ExperimentSpec, InvalidSpec, Outcome, PerturboError, Status, rejected

__all__ = [
    "PairExecutor",
    "PairPool",
    "PairScreen",
    "PairView",
    "is_pair_csv",
    "load_pair_screen",
    "pair_key",
]

_SPLIT = re.compile(r"[\s'\"()\[\]]*[,+|;][\s'\"()\[\]]*")


PAIR_FORMATS = "('A', 'B'), A_B, A,B, A+B or A|B"
"""The ways a pair may be written (in a pair screen's Gene_pairs column and a hits file)."""


def pair_key(raw: str) -> str:
    """``"('b', 'a')"`` / ``"A_B"`` (BioDiscoveryAgent's hits) / ``"A,B"`` / ``"a+b"`` ->
    ``"A+B"`` (members sorted). ``ValueError`` if it does not name two distinct genes. ``_``
    separates only where no other separator does and it occurs once (gene symbols do not
    hold ``_``; ``-`` they do, as in HLA-A)."""
    return "+".join(k for k, _ in _members(raw))


def _members(raw: str) -> list[tuple[str, str]]:
    """The two genes ``raw`` names as (key, as written), in key order (:func:`pair_key`)."""
    parts = [p.strip("'\"()[] ").strip() for p in _SPLIT.split(str(raw).strip("()[] "))]
    parts = [p for p in parts if p]
    if len(parts) == 1 and parts[0].count("_") == 1:
        parts = [p.strip() for p in parts[0].split("_")]
    keyed = sorted((normalize_gene(p), p) for p in parts)
    if len(keyed) != 2 or keyed[0][0] == keyed[1][0]:
        raise ValueError(f"{raw!r} is not a pair of two genes")
    return keyed


@dataclass(frozen=True, eq=False)
class PairView:
    """What a planner may know of a pair screen: its pairs, genes and task (no labels)."""

    name: str
    pairs: tuple[str, ...]
    task: str
    measurement: str
    study: str
    modality: str = "knockout"
    hit_tail: str = "both"
    members: np.ndarray = field(init=False, repr=False)  # (n_pairs, 2) gene indices
    genes: tuple[str, ...] = field(init=False)
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        split = [p.split("+") for p in self.pairs]
        genes = tuple(dict.fromkeys(g for ab in split for g in ab))
        gi = {g: i for i, g in enumerate(genes)}
        object.__setattr__(self, "genes", genes)
        object.__setattr__(self, "members", np.array([[gi[a], gi[b]] for a, b in split], dtype=int))
        object.__setattr__(self, "_index", {p: i for i, p in enumerate(self.pairs)})

    def index(self, pair: str) -> int:
        return self._index[pair_key(pair)]

    def __contains__(self, pair: object) -> bool:
        try:
            return isinstance(pair, str) and pair_key(pair) in self._index
        except ValueError:
            return False

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def description(self) -> str:
        return f"Task: {self.task}. Measurement: {self.measurement}."


@dataclass(frozen=True, eq=False)
class PairScreen:
    """A pair screen with its labels (held by the executor and the metrics)."""

    name: str
    pairs: tuple[str, ...]
    scores: np.ndarray
    hits: frozenset[str]
    task: str
    measurement: str
    study: str
    modality: str = "knockout"
    hit_tail: str = "both"
    spelling: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Pair key -> the pair as the file spells its genes, for the pairs spelled otherwise."""

    def spell(self, pair: str) -> str:
        """``pair`` (any case or format) as the screen spells it: what is recorded and shown."""
        key = pair_key(pair)
        return self.spelling.get(key, key)

    def view(self) -> PairView:
        return PairView(
            self.name,
            self.pairs,
            self.task,
            self.measurement,
            self.study,
            self.modality,
            self.hit_tail,
        )

    def __len__(self) -> int:
        return len(self.pairs)

    def __contains__(self, pair: object) -> bool:
        try:
            return isinstance(pair, str) and pair_key(pair) in self._lookup
        except ValueError:
            return False

    @property
    def _lookup(self) -> dict[str, float]:
        cached = self.__dict__.get("_cache")
        if cached is None:
            cached = dict(zip(self.pairs, self.scores.tolist(), strict=True))
            object.__setattr__(self, "_cache", cached)
        return cached

    def score(self, pair: str) -> float:
        return self._lookup[pair_key(pair)]


def is_pair_csv(path: str | Path) -> bool:
    """Whether ``path`` is a CSV whose header names a ``Gene_pairs`` column."""
    p = Path(path)
    if p.suffix.lower() != ".csv" or not p.is_file():
        return False
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
    except (UnicodeDecodeError, csv.Error):
        return False  # not a readable CSV: the gene-screen reader names the problem
    return "gene_pairs" in [c.strip().lower() for c in header]


def load_pair_screen(
    path: str | Path, hits: str | None = None, task: str = "", hit_tail: str = "both"
) -> PairScreen:
    """A ``Gene_pairs,Score`` CSV (duplicated pairs: an error naming them)."""
    p = Path(path)
    fix = "it must be a CSV with a header row containing Gene_pairs and Score, one pair per row"
    rows, (gi, si) = csv_table(p, "pair screen", ("gene_pairs", "score"), fix)
    best: dict[str, float] = {}
    first: dict[str, str] = {}  # gene key -> its first spelling in the file
    for lineno, r in enumerate(rows[1:], start=2):
        try:
            members, score = _members(r[gi]), float(r[si])
        except (ValueError, IndexError):
            raise PerturboError(
                f"pair screen {p}: line {lineno} ({','.join(r)}) is not a pair and a Score; "
                f"write each row as PAIR,SCORE with PAIR one of {PAIR_FORMATS}"
            ) from None
        key = "+".join(k for k, _ in members)
        for k, written in members:
            first.setdefault(k, written)
        if key in best or not math.isfinite(score):
            raise PerturboError(f"pair screen {p}: line {lineno}: {key} repeated or not finite")
        best[key] = score
    pairs = tuple(best)
    scores = np.fromiter(best.values(), float, len(best))
    if hits is not None:
        hit_set = _read_pair_hits(Path(hits), frozenset(pairs))
    else:
        hit_set = top_fraction(pairs, scores, hit_tail, f"pair screen {p}")
    task = task or "identify gene pairs whose joint knockout changes the phenotype"
    spelled = {k: "+".join(first[g] for g in k.split("+")) for k in pairs}
    spelling = {k: v for k, v in spelled.items() if v != k}
    return PairScreen(p.stem, pairs, scores, hit_set, task, "the Score column", p.stem,
                      "knockout", hit_tail, spelling)  # fmt: skip


def _read_pair_hits(path: Path, pairs: frozenset[str]) -> frozenset[str]:
    """A pair hits file: one pair per line in any of :data:`PAIR_FORMATS` (blank lines and
    ``#`` comments ignored); every pair must be one of the screen's. The unknown ones are
    named as the file writes them (the first time)."""
    named: list[str] = []
    written: dict[str, str] = {}  # pair key -> the pair as the hits file first writes it
    for lineno, text in hits_file_lines(path, "pair"):
        try:
            named.append(pair_key(text))
            written.setdefault(named[-1], text)
        except ValueError:
            raise PerturboError(
                f"--hits {path}: line {lineno} ({text!r}) is not a gene pair; write one pair "
                f"per line as {PAIR_FORMATS}"
            ) from None
    if not named:
        raise PerturboError(
            f"--hits {path}: no pairs in it; write one hit pair per line (e.g. A_B), or drop "
            "--hits to use the top 5% of pairs by |score|"
        )
    unknown = [written[k] for k in dict.fromkeys(named) if k not in pairs]
    if unknown:  # hits of a wider library than this screen: not findable here, so not counted
        import warnings

        warnings.warn(
            f"--hits {path}: {len(unknown)} of {len(set(named))} hit pairs are not in the screen "
            f"({', '.join(unknown[:3])}{', ...' if len(unknown) > 3 else ''}) and are left out "
            "of the hits counted",
            stacklevel=2,
        )
    known = frozenset(named) & pairs
    if not known:
        raise PerturboError(
            f"--hits {path}: none of its {len(set(named))} pairs is in the pair screen; pass "
            "the hits file of this screen"
        )
    return known


class PairPool:
    """The pairs of a screen as a search space: params ``{"pair": "A+B"}``, each pair once.
    Matched by :func:`pair_key` (:meth:`key`); proposed and validated to the screen's spelling
    (``spelling``: :attr:`PairScreen.spelling`), so a mouse screen's pairs are recorded as
    its file writes them."""

    unique = True

    def __init__(self, pairs: tuple[str, ...], spelling: Mapping[str, str] | None = None) -> None:
        self.pairs = pairs
        self._known = frozenset(pairs)
        self._spelling = dict(spelling or {})

    def __len__(self) -> int:
        return len(self.pairs)

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        raw = params.get("pair") if isinstance(params, Mapping) else None
        try:
            key = pair_key(str(raw))
        except ValueError as e:
            raise InvalidSpec(f"a pair experiment needs params {{'pair': 'A+B'}}: {e}") from None
        if key not in self._known:
            raise InvalidSpec(f"{str(raw).strip()} is not a pair of this screen")
        return {"pair": self._spelling.get(key, key)}

    def key(self, params: Mapping[str, Any]) -> str:
        return pair_key(str(params["pair"]))

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        free = [p for p in self.pairs if p not in exclude]
        if n <= 0 or not free:
            return []
        pick = rng.choice(len(free), min(n, len(free)), replace=False)
        return [{"pair": self._spelling.get(free[i], free[i])} for i in pick]


class PairExecutor:
    """Scores a pair knockout against the screen: ``{"score": s, "hit": 1.0|0.0}``."""

    def __init__(self, screen: PairScreen) -> None:
        self.screen = screen
        self._worker = socket.gethostname()

    def run(self, spec: ExperimentSpec) -> Outcome:
        t0 = time.perf_counter()
        raw = spec.params.get("pair") if isinstance(spec.params, Mapping) else None
        try:
            key = pair_key(str(raw))
        except ValueError:
            key = ""
        if key not in self.screen:
            return rejected(f"{raw!r} is not a pair of screen {self.screen.name}")
        metrics = {"score": self.screen.score(key), "hit": 1.0 if key in self.screen.hits else 0.0}
        return Outcome(
            Status.COMPLETED, metrics, duration_s=time.perf_counter() - t0, worker=self._worker
        )
