"""Session 11's probes run end to end on a small setting, and what they report holds there:
the candidate-set posterior gives ``bo`` the batches the model's own posterior gives, and a
short training's ranking is reported within its bounds."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages


def test_cached_posterior_gives_the_same_batches(tmp_path: Path) -> None:
    import bo_candidate_posterior

    out = tmp_path / "p.md"
    args = ["--tasks", "nb201-cifar100", "hpobench-kc1", "--obs", "40", "--out", str(out)]
    assert bo_candidate_posterior.main(args) == 0
    md = out.read_text()
    assert "Same first pick: **4/4**" in md
    assert "in the same order: **4/4**" in md


def test_fidelity_agreement_table(tmp_path: Path) -> None:
    import mf_fidelity_corr

    out = tmp_path / "c.md"
    args = ["--tasks", "iris-mlp", "--configs", "8", "--seeds", "1", "--out", str(out)]
    assert mf_fidelity_corr.main(args) == 0
    rows = [r for r in out.read_text().splitlines() if r.startswith("| iris-mlp")]
    assert [r.split("|")[2].strip() for r in rows] == ["1 of 27", "3 of 27", "9 of 27"]
    for r in rows:
        rho, overlap = (float(re.match(r"-?[\d.]+", c.strip()).group()) for c in r.split("|")[3:5])
        assert -1 <= rho <= 1 and 0 <= overlap <= 1
