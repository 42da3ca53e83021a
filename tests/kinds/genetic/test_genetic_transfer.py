"""The transfer prior is leak-proof: a screen never learns from its own labels under another
name (a renamed copy, subset or re-analysis, shipped or from an earlier campaign), planners see
a label-free view, and the sources are logged on the campaign."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from stores import real_genes_csv

from perturbo.kinds.genetic import compose as genetic_compose
from perturbo.kinds.genetic import load_screen
from perturbo.kinds.genetic.planners import gene_priors
from perturbo.kinds.genetic.screens import ScreenView
from perturbo.types import CampaignSummary, ExperimentSpec, Observation, Outcome, Status


def _il2_copy(tmp_path: Path, share: float = 0.6, noise: float = 0.05, seed: int = 0) -> Path:
    """A user's CSV made from a random subset of IL2's rows, re-scored with a little noise,
    under another name and study (what a lab re-analysing a public screen has)."""
    il2 = load_screen("IL2")
    rng = np.random.default_rng(seed)
    keep = rng.random(len(il2)) < share
    rows = [
        f"{g},{s * 1.7 + rng.normal(0, noise):.5f}"
        for g, s, k in zip(il2.genes, il2.scores, keep, strict=True)
        if k
    ]
    path = tmp_path / "tcell_cytokine_screen.csv"
    path.write_text("Gene,Score\n" + "\n".join(rows) + "\n")
    (tmp_path / "tcell_cytokine_screen.task.json").write_text(
        json.dumps({"Task": "find regulators of a T cell cytokine", "Study": "LabX2026"})
    )
    return path


def test_a_renamed_il2_subset_gets_no_il2_labels_in_its_prior(tmp_path: Path) -> None:
    mine = load_screen(str(_il2_copy(tmp_path)))
    assert mine.name == "tcell_cytokine_screen" and mine.study == "LabX2026"
    with pytest.warns(UserWarning, match=r"'IL2' left out.*Spearman"):
        names = [s.name for s in gene_priors.training_sources(mine)]
    assert "IL2" not in names
    assert {"Carnevale22_Adenosine", "Scharenberg22", "IFNG"} <= set(names)  # others stay


def test_the_planner_gets_a_view_and_only_the_checked_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = load_screen(str(_il2_copy(tmp_path)))
    seen: dict[str, Any] = {}

    def fake_source_priors(view: Any, sources: Any, **kw: Any) -> list[Any]:
        seen["view"], seen["sources"] = view, [s.name for s in sources]
        return []

    monkeypatch.setattr(gene_priors, "source_priors", fake_source_priors)
    monkeypatch.setattr(gene_priors, "text_prior", lambda *a, **k: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        planner = genetic_compose.make_planner("bo", mine, {"prior": "transfer", "seed": 0})
    assert "IL2" not in seen["sources"] and seen["sources"]
    assert isinstance(planner.screen, ScreenView) and isinstance(seen["view"], ScreenView)
    for field in ("hits", "scores", "hit_mask", "score", "is_hit"):
        assert not hasattr(planner.screen, field)


class _Store:
    """A stand-in for the campaign store's read side (earlier campaigns with histories)."""

    def __init__(self, campaigns: list[tuple[str, str, dict[str, tuple[float, bool]]]]) -> None:
        self.campaigns = campaigns

    def earlier(self, kind: str, exclude: Any = ()) -> Any:
        for i, (screen, study, results) in enumerate(self.campaigns):
            summary = CampaignSummary(
                f"c{i}",
                kind,
                "FINISHED",
                5,
                0.0,
                tags={"perturbo.screen": screen, "perturbo.study": study},
            )
            hist = [
                Observation(
                    ExperimentSpec({"gene": g}, "genetic", f"{i}-{g}", 0),
                    Outcome(Status.COMPLETED, {"score": sc, "hit": float(h)}),
                )
                for g, (sc, h) in results.items()
            ]
            yield summary, hist


def test_earlier_campaigns_on_this_screens_content_are_left_out_and_repeats_count_once(
    tmp_path: Path,
) -> None:
    mine = load_screen(str(_il2_copy(tmp_path)))
    il2 = load_screen("IL2")
    rng = np.random.default_rng(1)
    picked = [il2.genes[i] for i in rng.choice(len(il2), 600, replace=False)]
    il2_run = {g: (il2.score(g), g in il2.hits) for g in picked}  # a campaign on IL2 itself
    ifng = load_screen("Carnevale22_Adenosine")
    other = {g: (ifng.score(g), g in ifng.hits) for g in ifng.genes[:600]}
    store = _Store(
        [
            ("old_il2_reanalysis", "OldLab", il2_run),
            ("adenosine", "Carn", other),
            ("adenosine", "Carn", {g: other[g] for g in list(other)[:100]}),
        ]
    )
    earlier = genetic_compose.earlier_labels(store, mine, "now")  # type: ignore[arg-type]
    assert sorted(s.name for s in earlier) == [
        "campaigns:ADENOSINE (x2)",
        "campaigns:OLD_IL2_REANALYSIS (x1)",
    ]
    with pytest.warns(UserWarning, match="OLD_IL2_REANALYSIS"):
        kept = [s.name for s in gene_priors.training_sources(mine, earlier)]
    assert "campaigns:ADENOSINE (x2)" in kept
    assert not any("IL2" in k for k in kept)


def test_a_file_named_like_a_builtin_screen_does_not_shadow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "IFNG.csv").write_text("Gene,Score\nA,1\nB,2\n")
    (tmp_path / "IFNG").write_text("Gene,Score\nA,1\nB,2\n")
    monkeypatch.chdir(tmp_path)
    assert len(load_screen("IFNG")) == 18418  # the built-in, although ./IFNG exists
    user = load_screen(str(tmp_path / "IFNG.csv"))
    assert user.name == "file:IFNG" and len(user) == 2
    assert "IFNG" in [s.name for s in gene_priors.view_sources(user.view())]


def test_modality_and_hit_tail_from_flags_task_json_or_text(tmp_path: Path) -> None:
    path = tmp_path / "act.csv"
    path.write_text("Gene,Score\n" + "\n".join(f"G{i},{i - 50}" for i in range(100)) + "\n")
    (tmp_path / "act.task.json").write_text(
        json.dumps({"Task": "CRISPRa screen for genes whose activation raises CD69"})
    )
    s = load_screen(str(path))
    assert s.modality == "crispra" and s.hit_tail == "both"
    high = load_screen(str(path), hit_tail="high")
    assert high.hits == {f"G{i}" for i in range(95, 100)}  # top 5% by score, one tail
    low = load_screen(str(path), modality="crispri", hit_tail="low")
    assert low.modality == "crispri" and low.hits == {f"G{i}" for i in range(5)}
    assert load_screen("Scharenberg22").hit_tail == "high"  # "indicated by a high score"
    assert load_screen("IFNG").modality == "knockout"


def test_every_prior_source_and_its_weight_is_logged_in_the_campaign_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n_genes = 300
    path = real_genes_csv(tmp_path / "lyso.csv", n=n_genes)
    fake = np.full(n_genes, 0.05)
    monkeypatch.setattr(
        gene_priors, "source_priors", lambda view, srcs, **k: [(s.name, fake) for s in srcs]
    )
    monkeypatch.setattr(gene_priors, "text_prior", lambda *a, **k: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = genetic_compose.build(
            {"screen": str(path), "planner": "bo", "prior": "transfer", "first_round": "hedge"}
        )
    logged = json.loads(parts.params["prior_sources"])
    assert [s["name"] for s in logged] == [
        "transfer:Carnevale22_Adenosine",
        "transfer:IFNG",
        "transfer:IL2",
        "transfer:Scharenberg22",
    ]
    assert all(s["weight"] == 0.25 for s in logged) and parts.params["first_round"] == "hedge"
    assert not parts.planner.deterministic  # hedged round 1: the seed matters
    note = parts.planner.ask(10, [])[0].note
    assert "transfer:IFNG 0.25" in note  # round weights travel in the round's notes
