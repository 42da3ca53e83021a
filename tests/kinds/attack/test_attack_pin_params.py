"""``--pin`` names every parameter its experiment is missing, with its range, in one error
(it asked for ``restarts``, then ``loss``, one run at a time), and ``--help`` lists every
method's parameters (``loss`` and ``step_rel`` were nowhere)."""

from __future__ import annotations

import argparse

import pytest

from perturbo.kinds.attack.space import CascadeSpace, attack_space
from perturbo.types import InvalidSpec


def test_every_missing_parameter_at_once() -> None:
    space = CascadeSpace(attack_space("linf", n_classes=10))
    with pytest.raises(InvalidSpec) as e:
        space.validate({"method": "pgd", "steps": 10})
    msg = str(e.value)
    assert msg.startswith("missing parameters 'restarts' (int in [1, 4]), 'loss' (one of")
    assert "'step_rel' (float in [0.02, 1])" in msg and "'steps'" not in msg
    with pytest.raises(InvalidSpec, match=r"^missing parameter 'targets' \(int in \[1, 9\]\)$"):
        space.validate({"method": "apgd-t", "steps": 10})
    full = {"method": "pgd", "steps": 10, "restarts": 1, "loss": "ce", "step_rel": 0.25}
    assert space.validate(full) == full


def test_help_lists_each_methods_parameters() -> None:
    from perturbo.kinds.attack.config import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = " ".join(parser.format_help().split())
    for name in ("loss", "step_rel", "restarts", "targets", "queries", "p_init", "popsize"):
        assert name in text, name
