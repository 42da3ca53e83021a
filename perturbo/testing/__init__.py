"""Reusable test suites for code built on perturbo (as ``optuna.testing`` ships its own)."""
