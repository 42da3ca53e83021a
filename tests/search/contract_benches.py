"""The spaces and fake chat models the planner contract runs the registry's planners on
(imported by name: pytest puts this folder on sys.path).

- ``GENES``: a 60-gene screen whose hits share hand-made gene sets (the gene pool), with its
  gene knowledge patched in for the shipped libraries' (:func:`synthetic_knowledge`).
- ``PAIRS``: the 190 pairs of 20 of those genes.
- ``ATTACK``: the attack kind's linf space under the cascade, 64 samples a config may break.
- :class:`SpaceChat`, :class:`SetChat`: deterministic fake chat models that answer the
  space agent and the genetic agent with valid choices (and an invalid config, so the space
  agent's repair path runs), drawn by a generator of the seed and the prompt.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
from langchain_core.messages import AIMessage

from perturbo.kinds.attack.samples import CLEAN_PREFIX, pack_bits
from perturbo.kinds.attack.space import CascadeSpace, attack_space
from perturbo.kinds.genetic.experiment import GenePool
from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.pairs import PairPool, PairScreen
from perturbo.kinds.genetic.screens import Screen
from perturbo.testing.planner_contract import Bench

GENES = tuple(f"G{i:02d}" for i in range(60))
SETS = {f"LIB: SET{j}": GENES[10 * j : 10 * j + 10] for j in range(6)}
SETS["LIB: EVERY_THIRD"] = GENES[::3]
HITS = frozenset({"G01", "G03", "G05", "G07", "G09", "G12", "G33"})
SCREEN = Screen(
    "contract",
    GENES,
    np.array([3.0 if g in HITS else 0.1 * (i % 7) for i, g in enumerate(GENES)]),
    HITS,
    "find genes whose knockout blocks toy signalling",
    "toy score",
    "contract",
)


def synthetic_knowledge(genes: tuple[str, ...]) -> GeneKnowledge:
    """Gene-set knowledge over ``genes`` from :data:`SETS` (genes outside it: no sets)."""
    import scipy.sparse as sp

    names = tuple(SETS)
    idx = {g: i for i, g in enumerate(genes)}
    pairs = [(idx[g], j) for j, n in enumerate(names) for g in SETS[n] if g in idx]
    rows, cols = zip(*pairs, strict=True) if pairs else ((), ())
    binary = sp.csr_matrix(
        (np.ones(len(rows)), (list(rows), list(cols))), shape=(len(genes), len(names))
    )
    return GeneKnowledge(tuple(genes), names, binary)


def _gene_measure(p: Mapping[str, Any]) -> dict[str, float]:
    g = p["gene"]
    return {"score": SCREEN.score(g), "hit": 1.0 if g in HITS else 0.0}


GENE_BENCH = Bench(GenePool(GENES), "genetic", _gene_measure, objectives=("hit",))

_PAIR_GENES = GENES[:20]
PAIR_LIST = tuple(f"{a}+{b}" for i, a in enumerate(_PAIR_GENES) for b in _PAIR_GENES[i + 1 :])
PAIR_HITS = frozenset(p for p in PAIR_LIST if sum(g in HITS for g in p.split("+")) == 2)
PAIR_SCREEN = PairScreen(
    "contract-pairs",
    PAIR_LIST,
    np.array([3.0 if p in PAIR_HITS else 0.0 for p in PAIR_LIST]),
    PAIR_HITS,
    "find interacting gene pairs",
    "toy score",
    "contract",
)


def _pair_measure(p: Mapping[str, Any]) -> dict[str, float]:
    hit = p["pair"] in PAIR_HITS
    return {"score": 3.0 if hit else 0.0, "hit": float(hit)}


PAIR_BENCH = Bench(PairPool(PAIR_LIST), "genetic", _pair_measure, objectives=("hit",))

N_SAMPLES = 64
ATTACK_SPACE = attack_space("linf")


def _attack_measure(p: Mapping[str, Any]) -> dict[str, float]:
    """A config breaks the samples its key hashes to (about 1 in 12), deterministically."""
    key = ATTACK_SPACE.key({k: v for k, v in p.items() if k != "samples"})
    broken = np.array([zlib.crc32(f"{key}/{i}".encode()) % 12 == 0 for i in range(N_SAMPLES)])
    metrics = {"robust_accuracy": 1.0 - broken.mean(), "passes": 10.0}
    metrics.update(pack_bits(broken))
    metrics.update(pack_bits(np.zeros(N_SAMPLES, bool), CLEAN_PREFIX))
    return metrics


ATTACK_BENCH = Bench(
    CascadeSpace(ATTACK_SPACE),
    "attack",
    _attack_measure,
    objectives=("robust_accuracy",),
    directions=("min",),
    conditional=("restarts", "method", frozenset({"pgd", "apgd-ce", "apgd-dlr"})),
)


def _last(messages: Any) -> str:
    return str(messages[-1].content) if isinstance(messages, list) else str(messages)


def _rng(seed: int, messages: Any) -> np.random.Generator:
    """A generator of the seed and the whole prompt: the same question gets the same answer,
    and a planner that sees more history (a resumed one) gets another, as from a real model."""
    text = "\n".join(str(getattr(m, "content", m)) for m in messages)
    return np.random.default_rng([seed, zlib.crc32(text.encode())])


class SpaceChat:
    """Answers the space agent with 4 configs sampled from ``space`` (seeded, so a planner is
    reproducible under its seed) and one config outside it."""

    model_name = "fake-space-chat"

    def __init__(self, space: Any, seed: int) -> None:
        self.space, self.seed, self.calls = space, seed, 0

    def invoke(self, messages: Any) -> AIMessage:
        self.calls += 1
        configs = self.space.sample(_rng(self.seed, messages), 4, set())
        bad = {k: 1e9 if isinstance(v, float) else v for k, v in configs[0].items()}
        return AIMessage(json.dumps({"configs": [*configs, bad], "rationale": "fake"}))


class SetChat:
    """Answers the genetic agent with two of the listed set ids (seeded) and one unknown id."""

    model_name = "fake-set-chat"

    def __init__(self, seed: int) -> None:
        self.seed, self.calls = seed, 0

    def invoke(self, messages: Any) -> AIMessage:
        self.calls += 1
        text = _last(messages)
        ids = [int(m) for m in re.findall(r"^(\d+)\. ", text, re.M)]
        if '"approve"' in text:  # the critic
            return AIMessage(json.dumps({"approve": True, "ids": [], "comment": "fine"}))
        pick = [int(i) for i in _rng(self.seed, messages).permutation(ids)[:2]] if ids else []
        return AIMessage(json.dumps({"ids": pick, "rationale": "fake choice"}))
