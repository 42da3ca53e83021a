"""The tiny screen fixtures (tests/agent_helpers.py)."""

from agent_helpers import knowledge, screen  # noqa: F401  (pytest fixtures)
