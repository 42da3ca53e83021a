"""``perturbo show``'s best experiment lists its config without the kind's internal params
(KindSpec.internal_params: an attack trial's sample mask and pass budget)."""

from __future__ import annotations

import json
from typing import Any

from perturbo.kinds import attack
from perturbo.show_results import best_lines
from perturbo.types import CampaignSummary


class _Store:
    def best_marks(self, name: str) -> dict[str, str]:
        params = {"method": "pgd", "steps": 40, "samples": "aeb2039e75", "pass_budget": 3.0}
        return {"perturbo.objective": "robust_accuracy", "perturbo.direction": "min",
                "perturbo.best.id": "r002-0001", "perturbo.best.value": "0.52",
                "perturbo.best.params": json.dumps(params)}  # fmt: skip

    def history(self, name: str) -> list[Any]:
        return []


def test_the_best_config_leaves_the_sample_mask_out() -> None:
    summary = CampaignSummary("atk", "attack", "FINISHED", 2, {}, {}, {})
    lines = best_lines(_Store(), "atk", summary, attack.KIND)
    text = "\n".join(lines)
    assert "method = pgd" in text and "steps = 40" in text
    assert "samples" not in text and "pass_budget" not in text, text
    assert "samples = aeb2039e75" in "\n".join(best_lines(_Store(), "atk", summary))  # no spec
