"""The README's planner list says, per kind, the planners that kind's table accepts: it once
offered `optuna-*` to every kind, and the genetic kind refuses them."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _bullets() -> dict[str, list[set[str]]]:
    """``{kind: [the backticked names of each sentence]}`` of the README's "Planners, per kind"
    bullets (a bullet names its kinds first: "- `hyperparameter` and `attack`: ...")."""
    text = README.read_text()
    assert "Planners, per kind" in text, "the README lists no planners per kind"
    section = text.split("Planners, per kind", 1)[1].split("\n\n", 2)[1]
    out: dict[str, list[set[str]]] = {}
    for bullet in re.split(r"^- ", section, flags=re.M)[1:]:
        head, body = bullet.split(":", 1)
        sentences = re.split(r"\.\s", " ".join(body.split()))
        names = [set(re.findall(r"`([a-z][a-z0-9-]*)`", s)) for s in sentences]  # no --flags
        for kind in re.findall(r"`([a-z]+)`", head):
            out[kind] = names
    return out


def test_the_readme_lists_each_kinds_planners() -> None:
    from perturbo.kinds.attack.planners import TABLE as ATTACK
    from perturbo.kinds.genetic.compose import TABLE as GENETIC
    from perturbo.kinds.genetic.experiment import GenePool
    from perturbo.kinds.genetic.pairs import PairPool
    from perturbo.kinds.hyperparameter.planners import TABLE as HYPERPARAMETER
    from perturbo.space import SearchSpace

    said = _bullets()
    genes, pairs_and_lab = said["genetic"][0], said["genetic"][1]
    assert genes == set(GENETIC.names(GenePool))
    assert pairs_and_lab == set(GENETIC.names(PairPool))
    assert not {n for n in said["genetic"][2] if n.startswith("optuna")}  # none offered
    for kind, table in (("hyperparameter", HYPERPARAMETER), ("attack", ATTACK)):
        one, several = said[kind][0], said[kind][1]
        assert one == set(table.names(SearchSpace)), kind
        assert several == set(table.names(SearchSpace, multi_objective=True)), kind
