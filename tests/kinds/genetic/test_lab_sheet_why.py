"""The batch sheet's ``Why`` says per gene what the planner says per gene: a gene drawn
uniformly at random (``bo``'s hedged round 1, every pick of ``--planner random``) is the
stopping estimate's sample, not "ranked by the prior"."""

from __future__ import annotations

from pathlib import Path

from perturbo.kinds.genetic.lab.outside import GeneticLab
from perturbo.kinds.genetic.lab.sheet import UNIFORM_WHY, batch_sheet, gene_reasons
from perturbo.types import ExperimentSpec

PRIOR = "round 1: ranked by the transfer+text prior (text 1.00)"


class _Hedged:
    """What a hedged ``bo`` planner exposes after its round-1 ask."""

    name = "bo"
    uniform_genes = frozenset({"C", "D"})


def _specs() -> list[ExperimentSpec]:
    out = [ExperimentSpec({"gene": g}, "genetic", planner="bo", note=PRIOR) for g in "ABCD"]
    out.append(ExperimentSpec({"gene": "E"}, "genetic", planner="user", note="named by the user"))
    return out


def test_the_uniform_half_says_it_is_the_stopping_estimates_sample() -> None:
    why = gene_reasons(_Hedged(), _specs())
    assert why == [PRIOR, PRIOR, UNIFORM_WHY, UNIFORM_WHY, "named by the user"]
    sheet = batch_sheet("ABCDE", why=why)
    assert list(sheet["Why"])[2] == "uniform random (the stopping estimate's sample)"


def test_every_pick_of_the_random_planner_is_uniform() -> None:
    specs = [ExperimentSpec({"gene": g}, "genetic", planner="random") for g in "AB"]
    assert gene_reasons(object(), specs) == [UNIFORM_WHY, UNIFORM_WHY]


def test_the_lab_sheet_hook_says_why_per_gene(tmp_path: Path) -> None:
    lib = tmp_path / "lib.csv"
    lib.write_text("Gene,sgRNA\n" + "".join(f"{g},{g}_1\n" for g in "ABCDE"))
    rows = GeneticLab().sheet({"library": str(lib)}, _Hedged(), _specs())
    assert [r["Why"] for r in rows][2:4] == [UNIFORM_WHY, UNIFORM_WHY]
