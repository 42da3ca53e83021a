"""A lab campaign's planner reads earlier campaigns as they were at its start: a campaign
started later, or rounds recorded since, never change what a rebuilt planner learns from."""

from __future__ import annotations

from perturbo.history import History
from perturbo.lab.frozen import AsAtStart, Recording
from perturbo.types import CampaignSummary, ExperimentSpec, Observation, Outcome, Status


def _obs(gene: str) -> Observation:
    return Observation(
        ExperimentSpec({"gene": gene}, "genetic"), Outcome(Status.COMPLETED, {"hit": 1.0})
    )


class Store:
    def __init__(self) -> None:
        self.campaigns: dict[str, list[Observation]] = {}
        self.uri = "fake://"

    def earlier(self, kind, exclude=()):
        for name, obs in self.campaigns.items():
            if name not in exclude:
                yield CampaignSummary(name, kind, "FINISHED", 1, 0.0), History(list(obs))


def _read(store, exclude=("me",)):
    return {
        s.name: [o.spec.params["gene"] for o in h] for s, h in store.earlier("genetic", exclude)
    }


def test_the_store_as_at_start_hides_later_campaigns_and_later_rounds():
    store = Store()
    store.campaigns["old"] = [_obs("A"), _obs("B")]
    at_start = Recording(store)
    assert _read(at_start) == {"old": ["A", "B"]}
    assert at_start.uri == "fake://"  # the rest is the store's own

    store.campaigns["old"].append(_obs("C"))  # recorded since
    store.campaigns["new"] = [_obs("D")]  # started since
    assert _read(store) == {"old": ["A", "B", "C"], "new": ["D"]}
    later = AsAtStart.from_json(store, at_start.to_json())
    assert _read(later) == {"old": ["A", "B"]}
