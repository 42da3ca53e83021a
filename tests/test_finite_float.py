"""One home for "a value as a finite float, or None": :func:`perturbo.types.finite_float`, used
by the attack kind's ``perturbo show`` answer and by the chat's facts, which each had a twin of
it (``_number``, ``_float``) that could drift apart."""

from __future__ import annotations

import math

import pytest

from perturbo.types import finite_float


@pytest.mark.parametrize(
    ("value", "want"),
    [(0.25, 0.25), (3, 3.0), ("0.031", 0.031), (" 8 ", 8.0), ("1e-3", 1e-3)],
)
def test_a_number_or_its_text_reads_as_a_float(value: object, want: float) -> None:
    assert finite_float(value) == want


@pytest.mark.parametrize("value", [None, "", "eps", "nan", math.inf, -math.inf, [1.0], {}])
def test_what_is_not_a_finite_number_is_none(value: object) -> None:
    assert finite_float(value) is None


def test_the_attack_answer_and_the_chat_facts_share_it() -> None:
    from perturbo.agents.chat import facts
    from perturbo.kinds.attack import shown

    assert shown.finite_float is facts.finite_float is finite_float
    assert not hasattr(shown, "_number") and not hasattr(facts, "_float")
