"""``perturbo show`` of an attack cascade says the cascade's robust accuracy over all samples,
not a "best robust_accuracy" trial: each trial after the first attacks only the samples still
standing, so the first trials have the lowest figure by construction (the kind's
``KindSpec.shown_best`` hook, :mod:`perturbo.kinds.attack.shown`). As the chat does, the trial
it names is the one that broke the most samples first. Without the cascade every trial
attacked every sample: the generic best line stays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from stores import *  # noqa: F403

from perturbo.cli import main
from perturbo.kinds.attack.samples import encode_mask, pack_bits
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

N = 10


def _trial(tid: str, method: str, attacked: list[int], broke: list[int]) -> Observation:
    mask = np.zeros(N, bool)
    mask[attacked] = True
    params: dict[str, Any] = {"method": method, "steps": 10}
    params["samples"] = "" if len(attacked) == N else encode_mask(mask)
    bad = np.zeros(N, bool)
    bad[broke] = True
    metrics = {"robust_accuracy": 1.0 - len(broke) / len(attacked), **pack_bits(bad)}
    metrics |= {"n_attacked": float(len(attacked)), "n_samples": float(N)}
    spec = ExperimentSpec(params, "attack", tid, int(tid[1:4]) - 1, "bo")
    return Observation(spec, Outcome(Status.COMPLETED, metrics))


def _record(uri: str, tmp: Any, name: str, cascade: bool) -> None:
    from perturbo.tracking import MlflowRecorder

    # the cascade: r001-0000 breaks 0..2 of all 10 (robust accuracy 0.7 on all 10), then
    # r002-0000 breaks 3..6 of the 7 standing (0.43 on those 7): 3 of 10 stand in the end
    rounds = [[_trial("r001-0000", "fgsm", list(range(N)), [0, 1, 2])],
              [_trial("r002-0000", "apgd-ce", list(range(3, N)), [3, 4, 5, 6])]]  # fmt: skip
    params = {"model": "digits-cnn", "eps": 0.1, "norm": "linf", "objective": "robust",
              "samples": N, "cascade": cascade}  # fmt: skip
    rec = MlflowRecorder(uri, name, "attack", {"kind": "attack"}, params=params,
                         objective="robust_accuracy", direction="min",
                         spool_dir=tmp / f"spool-{name}")  # fmt: skip
    rec.start()
    history: list[Observation] = []
    for r, obs in enumerate(rounds):
        history += obs
        rec.record_round(r, obs, {"worst_case_robust_accuracy": 0.7 - 0.4 * r}, {})
    rec.finish(history, {"worst_case_robust_accuracy": 0.3, "n_still_robust": 3.0})


def test_show_says_the_cascades_robust_accuracy_not_its_first_trial(
    store: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(store, tmp_path, "casc", cascade=True)
    capsys.readouterr()
    assert main(["show", "casc", "--tracking-uri", store]) == 0
    out = capsys.readouterr().out
    assert "robust accuracy of the cascade = 0.3 over all 10 samples, 3 still robust" in out, out
    assert "best robust_accuracy" not in out and "r001-0000" not in out, out
    assert "broke the most samples first: experiment r002-0000 (4 of 10)" in out, out
    assert "method = apgd-ce" in out and "samples =" not in out, out


def test_show_keeps_the_best_trial_without_the_cascade(
    store: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(store, tmp_path, "flat", cascade=False)
    capsys.readouterr()
    assert main(["show", "flat", "--tracking-uri", store]) == 0
    out = capsys.readouterr().out
    assert "best robust_accuracy (min) = " in out and "cascade =" not in out, out
