"""`benchmarks/mf_report.py`'s bar for every method, and `multi_fidelity.py --report-only`."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
import mf_report  # noqa: E402


def test_cost_share_is_where_the_method_first_reaches_ashas_final_regret() -> None:
    grid = np.linspace(0, 100, 11)
    asha = np.array([[np.inf, 0.5, 0.4, 0.3, 0.3, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1]] * 2)
    fast = np.array(
        [
            [np.inf, 0.3, 0.1, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # 0.2
            [np.inf, np.inf, np.inf, np.inf, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2],
        ]
    )  # never
    shares = mf_report.cost_shares({"asha+bo": asha, "m": fast}, "m", "asha+bo", grid)
    assert shares[0] == 0.2 and math.isinf(shares[1])


def _trace(vals: list[float], max_e: int) -> list[list[object]]:
    return [[10.0 * (i + 1), max_e, v, f"c{i}"] for i, v in enumerate(vals)]


def test_report_only_rebuilds_the_md_with_the_every_method_table(tmp_path: Path) -> None:
    import multi_fidelity

    runs = {
        "mf-bo": {"0": _trace([0.5, 0.1, 0.1], 3)},  # reaches asha's 0.2 at cost 20 of 30
        "asha+bo": {"0": _trace([0.5, 0.3, 0.2], 3)},
        "dehb": {"0": _trace([0.9, 0.9, 0.9], 3)},  # never
    }
    dump = {"iris-mlp": {"max_epochs": 3, "budget_epochs": 30.0, "runs": runs}}
    (tmp_path / "multi_fidelity_runs.json").write_text(json.dumps(dump))
    assert multi_fidelity.main(["--report-only", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "multi_fidelity.md").read_text()
    assert "| mf-bo | 0.67 |" in md and "| dehb | never |" in md
    assert "rebuilt by `--report-only`" in md and (tmp_path / "multi_fidelity.png").is_file()


def test_report_only_without_runs_says_so(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    import multi_fidelity

    assert multi_fidelity.main(["--report-only", "--out", str(tmp_path)]) == 2
    assert "run without --report-only first" in capsys.readouterr().err


def test_earlier_runs_are_not_replaced_without_fresh(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """A run wrote its <name>_runs.json whole at the end: `--tasks wine-mlp` replaced every
    other task's runs in multi_fidelity_runs.json."""
    import multi_fidelity

    kept = tmp_path / "multi_fidelity_runs.json"
    kept.write_text('{"iris-mlp": {}}')
    argv = [
        "--tasks",
        "iris-mlp",
        "--methods",
        "asha+random",
        "--seeds",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert multi_fidelity.main(argv) == 2
    assert "--fresh" in capsys.readouterr().err and kept.read_text() == '{"iris-mlp": {}}'


def test_variants_are_compared_with_the_default_seed_by_seed() -> None:
    curves = {
        "mf-bo": np.array([[0.5, 0.2], [0.5, 0.1], [0.5, 0.0]]),
        "mf-bo-it30": np.array([[0.5, 0.1], [0.5, 0.1], [0.5, 0.3]]),
        "asha+bo": np.array([[0.5, 0.0], [0.5, 0.0], [0.5, 0.0]]),
    }
    (line,) = [x for x in mf_report.variants_vs_default(curves) if x]
    assert "`mf-bo-it30`" in line and "1 worse, 1 better, 1 the same" in line
    assert "median 0.1000 vs 0.1000" in line
    assert mf_report.variants_vs_default({"asha+bo": curves["asha+bo"]}) == []
    # the asynchronous schedule's variants are compared with mf-bo-async, not mf-bo
    async_curves = {"mf-bo-async": curves["mf-bo"], "mf-bo-async-fit1": curves["mf-bo-it30"]}
    (line,) = [x for x in mf_report.variants_vs_default(async_curves) if x]
    assert "`mf-bo-async-fit1` against `mf-bo-async`" in line and "1 worse, 1 better" in line


def test_an_unknown_method_is_refused_before_any_training(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    import multi_fidelity

    with pytest.raises(SystemExit) as e:
        multi_fidelity.main(["--methods", "mf-bo,mf-bo-foo", "--out", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--methods: unknown mf-bo-foo" in err and "mf-bo-nei" in err
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


def test_ladder_variant_never_runs_below_three_epochs() -> None:
    """`mf-bo-min3` (the ladder protocol) runs the real planner on a real trainer: every
    proposal is at 3, 9 or 27 epochs, and the default `mf-bo` does propose 1-epoch runs."""
    import multi_fidelity
    from mf_trainer import Spend, Trainer

    tr = Trainer("synth2-mlp", 0)
    seen = {}
    for m in ("mf-bo", "mf-bo-min3"):
        trace = multi_fidelity.run_mfbo(tr, 0, 27.0, Spend(True), multi_fidelity.MF_VARIANTS[m])
        seen[m] = {e for _, e, _, _ in trace}
    assert seen["mf-bo-min3"] <= {3, 9, 27} and seen["mf-bo-min3"], seen
    assert 1 in seen["mf-bo"], seen


def test_synthetic_tasks_keep_their_data() -> None:
    """The generated tasks are fixed: synth-mlp's data as session 14 ran it (the first
    validation rows' sum), synth2-mlp of its own size and classes."""
    from mf_trainer import synthetic_task

    Xtr, ytr, Xva, yva, k = synthetic_task(0, 27, "synth-mlp")._data
    assert (tuple(Xtr.shape), tuple(Xva.shape), k) == ((700, 20), (300, 20), 3)
    Xtr2, _, Xva2, _, k2 = synthetic_task(0, 27, "synth2-mlp")._data
    assert (tuple(Xtr2.shape), tuple(Xva2.shape), k2) == ((1050, 30), (450, 30), 4)
    assert abs(float(Xva[:5].sum()) - 7.823203) < 1e-4  # by session 14's code (git 4c07b63)
