"""The package list, found automatically (pyproject.toml's ``package-dir`` maps the top-level
``search/``, ``agents/`` and ``actors/`` folders into ``perturbo``): a new subpackage, such as a
kind's, needs no line here or in pyproject.toml."""

from setuptools import find_packages, setup

DIRS = {"perturbo": "perturbo", "perturbo.search": "search", "perturbo.agents": "agents",
        "perturbo.actors": "actors"}


def packages() -> list[str]:
    """Every package under the four folders, named as installed."""
    found = []
    for name, folder in DIRS.items():
        found.append(name)
        found += [f"{name}.{p}" for p in find_packages(folder)]
    return found


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import packages()
    setup(packages=packages())
