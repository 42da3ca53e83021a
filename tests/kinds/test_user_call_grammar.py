"""The refusals of a by-name objective agree in number: "'y' is conditional" for one,
"'y', 'z' are conditional" for two."""

from __future__ import annotations

import pytest

from perturbo.kinds.hyperparameter.user_call import call_style
from perturbo.space import Categorical, Float, SearchSpace
from perturbo.types import PerturboError

SPACE = SearchSpace(
    [
        Categorical("kind", ["a", "b"]),
        Float("x", 0.0, 1.0),
        Float("y", 0.0, 1.0, when={"kind": ["b"]}),
        Float("z", 0.0, 1.0, when={"kind": ["b"]}),
    ]
)


@pytest.mark.parametrize(
    "fn, words, wrong",
    [
        (lambda kind, x, y, z=0: 0.0, ["'y' is conditional", "its condition does", "needs a default"],
         []),
        (lambda kind, x, y, z: 0.0, ["'y', 'z' are conditional", "their conditions do",
                                     "need defaults"], ["is conditional", "needs a default"]),
        (lambda kind, x, y=0, z=0, depth=None, seed=None, lr=None, width=None: 0.0, [], []),
        (lambda kind, x, depth, y=0, z=0: 0.0,
         ["'depth' is not a parameter of the space and has no default", "give it one"], []),
        (lambda kind, x, depth, seed, y=0, z=0: 0.0,
         ["'depth', 'seed' are not parameters of the space and have no defaults",
          "give each one", "add them"], ["is not a parameter"]),
    ],
)  # fmt: skip
def test_the_verb_agrees_with_the_names(fn, words, wrong) -> None:
    if not words:
        assert call_style(fn, SPACE) == "kwargs"
        return
    with pytest.raises(PerturboError) as e:
        call_style(fn, SPACE, "train")
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    for w in wrong:
        assert w not in str(e.value), (w, str(e.value))
