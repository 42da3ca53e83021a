"""A spy on a planner's ``_fit(X, Y, hyper=None)`` (``bo`` and ``mf-bo``): the observation
counts of its fits (no ``hyper``) and of its builds with reused hyperparameters."""

from __future__ import annotations

from typing import Any


class FitSpy:
    def __init__(self, planner: Any) -> None:
        self.fits: list[int] = []
        self.reuses: list[int] = []
        real = planner._fit

        def spy(X, Y, hyper=None):  # noqa: ANN001, ANN202
            (self.fits if hyper is None else self.reuses).append(len(X))
            return real(X, Y, hyper)

        planner._fit = spy
