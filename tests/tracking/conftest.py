"""The MLflow store fixtures (tests/stores.py) for every test of the tracking package."""

from __future__ import annotations

from stores import *  # noqa: F403
