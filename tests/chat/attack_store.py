"""A fake campaign store (the chat's read side: ``StoreReader``) holding attack campaigns as
``perturbo run attack`` records them: per-trial metrics with the ``nonrobust_bits_*`` masks,
the cascade's ``samples`` masks, the ``perturbo.objective``/``perturbo.direction`` run tags,
a failed campaign whose trials timed out, and campaigns under other threat models. No MLflow:
the chat's attack answers are checked in milliseconds.

``atk-casc`` (linf, eps 0.1, 10 samples, cascade): sample 0 is misclassified clean;
r001-0000 apgd-ce breaks 1, 2, 3 (robust accuracy 0.6 on all 10); r001-0001 apgd-t breaks
0, 1, 4 (0.7 on all 10); then the cascade attacks only the samples standing: r002-0000 pgd
breaks 5 of 5..9 (0.8 on those 5), r003-0000 fgsm breaks none of 6..9 (1.0), r003-0001
square breaks 6 (0.75). Worst case: 7, 8, 9 robust (0.3), lower than every trial's figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perturbo.types import CampaignSummary, ExperimentSpec, Observation, Outcome, Status

__all__ = ["FakeStore", "attack_store"]

TIMEOUT = (
    "timed out after 0.3 s (its thread is stopped as soon as it runs Python again, once a "
    "native call such as a torch op returns, and waited for up to 20 s at exit; a fresh thread "
    "took its place)"
)


def _mask(samples: Iterable[int]) -> str:
    return format(sum(1 << i for i in samples), "x")


def _bits(samples: Iterable[int], prefix: str = "nonrobust_bits_") -> dict[str, float]:
    return {f"{prefix}00": float(sum(1 << i for i in samples))}


def _trial(
    id: str, planner: str, method: str, attacked: list[int], broke: list[int],
    *, n: int = 10, cascade: bool = True, clean: tuple[int, ...] = (),
) -> Observation:  # fmt: skip
    rnd = int(id[1:4]) - 1
    params: dict[str, Any] = {"method": method, "steps": 10, "restarts": 1}
    params["samples"] = "" if len(attacked) == n or not cascade else _mask(attacked)
    robust = 1.0 - len(broke) / len(attacked)
    metrics = {
        "clean_accuracy": 1.0 - len(clean) / len(attacked),
        "robust_accuracy": robust,
        "success_rate": len(set(broke) - set(clean)) / max(1, len(attacked) - len(clean)),
        "passes": 100.0,
        "n_attacked": float(len(attacked)),
        "n_samples": float(n),
        "eps": 0.1,
        **_bits(broke),
        **_bits(clean, "cleanwrong_bits_"),
    }
    return Observation(
        ExperimentSpec(params, "attack", id, rnd, planner, f"{planner} picked {method}"),
        Outcome(Status.COMPLETED, metrics),
    )


def _failed(id: str, method: str) -> Observation:
    spec = ExperimentSpec({"method": method, "steps": 50, "samples": ""}, "attack", id,
                          int(id[1:4]) - 1, "opening")  # fmt: skip
    return Observation(spec, Outcome(Status.FAILED, {}, error=TIMEOUT))


def _summary(name: str, status: str, *, norm: str = "linf", eps: str = "0.1",
             metrics: dict[str, float], stopped: str = "finished", rounds: int = 3,
             model: str = "digits-cnn", started: float = 1.8e12) -> CampaignSummary:  # fmt: skip
    params = {"planner": "bo", "seed": "0", "batch": "2", "trials": "8", "model": model,
              "eps": eps, "norm": norm, "objective": "robust", "samples": "10",
              "cascade": "True"}  # fmt: skip
    run_tags = {"perturbo.kind": "attack", "perturbo.norm": norm, "perturbo.stopped": stopped,
                "perturbo.status": status, "perturbo.objective": "robust_accuracy",
                "perturbo.direction": "min"}  # fmt: skip
    return CampaignSummary(name, "attack", status, rounds, started, params, metrics,
                           {"perturbo.kind": "attack", "perturbo.norm": norm}, run_tags)  # fmt: skip


def _worst(robust: int, n: int = 10, certified: float | None = None) -> dict[str, float]:
    out = {"worst_case_robust_accuracy": robust / n, "n_still_robust": float(robust),
           "passes_total": 500.0, "n_completed": 5.0, "n_failed": 0.0,
           "final_attacked_accuracy": robust / n}  # fmt: skip
    if certified is not None:
        out["final_certified_accuracy"] = certified
    return out


class FakeStore:
    """The read side the chat uses, over campaigns held in memory (newest first)."""

    uri = "fake://attack-store"

    def __init__(self, campaigns: dict[str, tuple[CampaignSummary, list[Observation]]]) -> None:
        self.campaigns = campaigns

    def exists(self) -> bool:
        return True

    def list_campaigns(self, kind: str | None = None) -> list[CampaignSummary]:
        rows = [s for s, _ in self.campaigns.values() if kind in (None, s.kind)]
        return sorted(rows, key=lambda s: -s.started)

    def summary(self, campaign: str) -> CampaignSummary:
        return self.campaigns[campaign][0]

    def history(self, campaign: str) -> list[Observation]:
        return list(self.campaigns[campaign][1])

    def config(self, campaign: str) -> dict[str, Any]:
        s = self.summary(campaign)
        return {"kind": s.kind, **dict(s.params)}

    def round_metrics(self, campaign: str) -> dict[int, dict[str, float]]:
        return {}

    def traces(self, campaign: str) -> list[dict[str, Any]]:
        return []

    def artifacts(self, campaign: str, path: str = "") -> list[str]:
        return []

    def download(self, campaign: str, path: str, dst: str | Path) -> Path:
        raise FileNotFoundError(path)


def attack_store() -> FakeStore:
    casc = [
        _trial("r001-0000", "opening", "apgd-ce", list(range(10)), [0, 1, 2, 3], clean=(0,)),
        _trial("r001-0001", "opening", "apgd-t", list(range(10)), [0, 1, 4], clean=(0,)),
        _trial("r002-0000", "bo", "pgd", [5, 6, 7, 8, 9], [5]),
        _trial("r003-0000", "bo", "fgsm", [6, 7, 8, 9], []),
        _trial("r003-0001", "neighbours", "square", [6, 7, 8, 9], [6]),
    ]
    lin2 = [
        _trial("r001-0000", "opening", "apgd-ce", list(range(10)), [0, 1, 2, 3, 4]),
        _trial("r002-0000", "bo", "pgd", [5, 6, 7, 8, 9], []),
    ]
    l2 = [_trial("r001-0000", "opening", "apgd-ce", list(range(10)), list(range(10)))]
    fail = [_failed("r001-0000", "apgd-ce"), _failed("r002-0000", "apgd-t")]
    stop = (
        f"all 2 experiments so far failed the same way, so the campaign stopped: {TIMEOUT}. "
        "Fix: raise the experiment timeout, or make the experiment cheaper"
    )
    return FakeStore({
        "atk-casc": (_summary("atk-casc", "FINISHED", metrics=_worst(3, certified=0.1)), casc),
        "atk-lin2": (_summary("atk-lin2", "FINISHED", metrics=_worst(5), rounds=2,
                              started=1.7e12), lin2),
        "atk-l2": (_summary("atk-l2", "FINISHED", norm="l2", eps="1.0", metrics=_worst(0),
                            rounds=1, started=1.6e12), l2),
        "atk-fail": (_summary("atk-fail", "FAILED", stopped=stop, rounds=2, started=1.5e12,
                              metrics={"n_still_robust": 0.0, "passes_total": 0.0,
                                       "n_completed": 0.0, "n_failed": 2.0}), fail),
    })  # fmt: skip
