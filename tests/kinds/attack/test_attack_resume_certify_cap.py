"""``--certify auto``'s time cap is a share of the campaign's wall time: on resume, of the
whole campaign's (the earlier runs' ``campaign_seconds`` carried over), not of the resumed
part only (which weakened the final certificate after a short resume)."""

from __future__ import annotations

from typing import Any

import numpy as np

from perturbo.kinds.attack.samples import WorstCase
from perturbo.types import CampaignSummary, PerturboError


class _Store:
    def __init__(self, metrics: dict[str, float] | None) -> None:
        self.metrics = metrics

    def summary(self, campaign: str) -> CampaignSummary:
        if self.metrics is None:
            raise PerturboError(f"no campaign {campaign!r}")
        return CampaignSummary(campaign, "attack", "KILLED", 3, 0.0, metrics=self.metrics)


def test_prior_seconds_reads_the_last_ending() -> None:
    from perturbo.kinds.attack.report import prior_seconds

    assert prior_seconds(_Store({"final_campaign_seconds": 51.0}), "atk3") == 51.0
    assert prior_seconds(_Store(None), "new") == 0.0  # a new campaign
    assert prior_seconds(_Store({"n_failed": 0.0}), "old") == 0.0  # recorded before
    assert prior_seconds(None, "atk3") == 0.0


def test_the_cap_counts_the_earlier_runs(digits_recipe: Any) -> None:
    from perturbo.kinds.attack.report import CAP_SHARE, Certifier

    wc = WorstCase(10, 0.1)
    wc.attacked[:] = True
    resumed = Certifier(digits_recipe, 0.1, "linf", "off", prior_s=100.0)
    cert = resumed(wc)
    assert cert.campaign_seconds >= 100.0 and cert.metrics()["campaign_seconds"] >= 100.0
    auto = Certifier(digits_recipe, 0.1, "linf", "auto", prior_s=100.0)
    assert auto.cap_s(auto.prior_s) == CAP_SHARE * 100.0
    assert np.isfinite(cert.metrics()["attacked_accuracy"])
