"""Names perturbo makes for campaigns the user did not name (perturbo.names.auto_name)."""

from __future__ import annotations

import re
import time

from perturbo.names import auto_name, check_name


def test_two_campaigns_started_in_the_same_second_get_different_names(monkeypatch) -> None:
    # Two operators (or a script) starting campaigns in one second: with a one-second stamp
    # alone the second was refused as taken and told to resume the first's campaign.
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "20261208-024500")
    names = {auto_name("genetic-ifng-bo") for _ in range(50)}
    assert len(names) >= 49  # 4 hex digits: a clash among 50 has probability ~2%
    for n in names:
        assert re.fullmatch(r"genetic-ifng-bo-20261208-024500-[0-9a-f]{4}", n), n
        assert check_name(n) == n


def test_auto_names_sort_by_start_time() -> None:
    early = auto_name("x").rsplit("-", 1)[0]
    time.sleep(1.01)
    assert auto_name("x").rsplit("-", 1)[0] > early
