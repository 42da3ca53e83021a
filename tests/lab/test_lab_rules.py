"""Hit rules, the batch sheet and the remaining-hits estimate of a lab campaign (issue 19)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perturbo.kinds.genetic.lab import (
    LabInputError,
    batch_sheet,
    load_library,
    parse_hit_rule,
    poisson_binomial,
    remaining_hits,
    require_hit_rule,
    write_sheet,
)

TABLE = pd.DataFrame(
    {"Gene": ["A", "B", "C", "NTC1", "NTC2", "NTC3"], "Score": [3.0, -3.0, 0.5, 0.1, -0.1, 0.0]}
)
CTL = ("ntc1", "NTC2", "NTC3")


@pytest.mark.parametrize(
    ("text", "kind", "tail", "t", "hits"),
    [
        ("score>=1", "score", "high", 1.0, {"A"}),
        ("Score <= -1", "score", "low", -1.0, {"B"}),
        ("abs>=1", "score", "both", 1.0, {"A", "B"}),
        ("|score|>=0.4", "score", "both", 0.4, {"A", "B", "C"}),  # controls never hits
        ("z>=5", "z", "high", 5.0, {"A", "C"}),
        ("z<=-5", "z", "low", -5.0, {"B"}),
        ("|z| >= 5", "z", "both", 5.0, {"A", "B", "C"}),
        ("abs(z)>=40", "z", "both", 40.0, set()),
    ],
)
def test_rules_parse_and_apply(text: str, kind: str, tail: str, t: float, hits: set) -> None:
    rule = parse_hit_rule(text)
    assert (rule.kind, rule.tail, rule.threshold) == (kind, tail, t)
    assert rule.hits(TABLE, CTL) == hits
    assert rule.describe().startswith("a gene is a hit when")


def test_z_is_against_the_controls_mean_and_sd() -> None:
    z = parse_hit_rule("z>=0").values(TABLE, CTL)
    assert z.iloc[0] == pytest.approx((3.0 - 0.0) / 0.1)  # controls: mean 0, sample sd 0.1


def test_z_rule_without_controls_in_the_results() -> None:
    with pytest.raises(LabInputError, match="controls") as e:
        parse_hit_rule("z>=2").hits(TABLE.iloc[:4], CTL)
    assert "\n" not in str(e.value)
    flat = TABLE.assign(Score=[3.0, -3.0, 0.5, 1.0, 1.0, 1.0])
    with pytest.raises(LabInputError, match="same score"):
        parse_hit_rule("z>=2").hits(flat, CTL)


def test_column_rule() -> None:
    rule = parse_hit_rule("column")
    assert rule.hits(TABLE.assign(Hit=[0, 1, 1, 1, 0, 0]), CTL) == {"B", "C"}
    with pytest.raises(LabInputError, match="no Hit column"):
        rule.hits(TABLE, CTL)


@pytest.mark.parametrize("text", ["top5%", "score>>1", "score>=abc", "abs<=1", "p<0.05", "abs>=-1"])
def test_bad_rules_say_the_forms(text: str) -> None:
    with pytest.raises(LabInputError) as e:
        parse_hit_rule(text)
    msg = str(e.value)
    assert msg.startswith("--hit-rule") and "\n" not in msg and ("abs>=" in msg)


@pytest.mark.parametrize("text", [None, "", "  "])
def test_a_lab_campaign_needs_a_rule(text: str | None) -> None:
    with pytest.raises(LabInputError, match=r"--hit-rule: a lab campaign needs a hit rule"):
        require_hit_rule(text)
    assert require_hit_rule("score>=2").tail == "high"


# -- batch sheet --------------------------------------------------------------------------------


def test_batch_sheet_rows_guides_and_controls(tmp_path: Path) -> None:
    lib_path = tmp_path / "lib.csv"
    lib_path.write_text("Gene,sgRNA,Sequence\nMYC,m1,AAA\nMYC,m2,CCC\nTP53,t1,GGG\nNTC1,n1,TTT\n")
    lib = load_library(lib_path)
    sheet = batch_sheet(
        ["tp53", "MYC"],
        library=lib,
        p_hit=[0.42, 0.1],
        p_sd={"MYC": 0.05, "TP53": 0.2},
        why={"TP53": "prior: transfer IFNG"},
        round_no=3,
        controls=["NTC1"],
    )
    assert list(sheet["Gene"]) == ["TP53", "MYC", "NTC1"]
    assert list(sheet["Rank"]) == [1, 2, ""]
    assert sheet["Round"].eq(3).all()
    assert list(sheet["Why"][:2]) == ["prior: transfer IFNG", "exploration"]
    assert sheet.loc[1, "sgRNA"] == "m1; m2" and sheet.loc[1, "Guides"] == 2
    assert sheet.loc[0, "P_hit"] == pytest.approx(0.42) and sheet.loc[0, "P_hit_sd"] == 0.2
    out = write_sheet(sheet, tmp_path / "out" / "round3.csv")
    back = pd.read_csv(out)
    assert list(back.columns[:7]) == ["Round", "Rank", "Gene", "P_hit", "P_hit_sd", "Why", "Guides"]
    assert len(back) == 3


# -- remaining hits -----------------------------------------------------------------------------


def test_poisson_binomial_matches_enumeration() -> None:
    p = [0.1, 0.5, 0.9, 0.3, 1.0, 0.0]
    pmf = poisson_binomial(p)
    brute = np.zeros(len(p) + 1)
    for bits in itertools.product([0, 1], repeat=len(p)):
        brute[sum(bits)] += np.prod([q if b else 1 - q for q, b in zip(p, bits, strict=True)])
    np.testing.assert_allclose(pmf, brute, atol=1e-12)


def test_interval_covers_at_the_stated_rate_when_p_are_right() -> None:
    rng = np.random.default_rng(1)
    p = rng.beta(0.3, 6.0, 3000)
    for method in ("exact", "normal"):
        r = remaining_hits(p, coverage=0.8, method=method)
        assert r.estimate == pytest.approx(p.sum()) and r.method == method
        draws = (rng.random((2000, len(p))) < p).sum(axis=1)
        cover = float(np.mean((draws >= r.lo) & (draws <= r.hi)))
        assert 0.77 <= cover <= 0.88, (method, cover)  # whole genes: a little above 0.8


def test_model_variance_widens_and_switches_to_normal() -> None:
    p = np.full(1000, 0.05)
    base = remaining_hits(p)
    wide = remaining_hits(p, model_var=400.0)
    assert base.method == "exact" and wide.method == "normal"
    assert wide.hi - wide.lo > 2 * (base.hi - base.lo)
    assert remaining_hits([]) == (0.0, 0, 0)[:3] + (0.9, "exact")


def test_uniform_sample_estimate_covers_at_the_stated_rate() -> None:
    """Design-based: whatever the planner believes, a uniform sample of the frame gives an
    interval that holds the true remaining count about as often as it says."""
    from perturbo.kinds.genetic.lab.remaining import remaining_from_sample

    rng = np.random.default_rng(7)
    n_frame, n_sample, inside, trials = 5000, 64, 0, 300
    errors, truths = [], []
    for _ in range(trials):
        hits = rng.random(n_frame) < 0.05
        order = rng.permutation(n_frame)
        sample, rest = order[:n_sample], order[n_sample:]
        picked = rest[:2000][hits[rest[:2000]]]  # a planner found hits elsewhere in the frame
        found = int(hits[sample].sum()) + len(picked)
        truth = int(hits.sum()) - found
        r = remaining_from_sample(n_frame, n_sample, int(hits[sample].sum()), found)
        inside += r.lo <= truth <= r.hi
        errors.append(r.estimate - truth)
        truths.append(truth)
    # conservative here (the planner's picks were random, so the tested part adds no bias the
    # estimate must allow for), never below the stated 90% beyond noise
    assert 0.84 <= inside / trials <= 0.995, inside / trials
    assert abs(np.mean(errors)) < 0.1 * np.mean(truths)  # unbiased
    with pytest.raises(ValueError, match="uniform sample"):
        remaining_from_sample(100, 0, 0, 0)


def test_scaled_to_keeps_order_caps_at_one_and_hits_the_total() -> None:
    from perturbo.kinds.genetic.lab.remaining import scaled_to

    q = scaled_to([0.9, 0.5, 0.1, 0.0], 2.5)
    assert q.sum() == pytest.approx(2.5) and q.max() <= 1.0
    assert list(np.argsort(-q, kind="stable")) == [0, 1, 2, 3]
    assert scaled_to([0, 0], 1.0).tolist() == [0.5, 0.5]
