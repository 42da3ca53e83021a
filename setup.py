"""The package list, found automatically (pyproject.toml's ``package-dir`` maps the top-level
``search/``, ``agents/`` and ``actors/`` folders into ``perturbo``): a new subpackage, such as a
kind's, needs no line here or in pyproject.toml."""

from setuptools import find_packages, setup

DIRS = {"perturbo": "perturbo", "perturbo.search": "search", "perturbo.agents": "agents",
        "perturbo.actors": "actors"}

packages = []
for name, folder in DIRS.items():
    packages.append(name)
    packages += [f"{name}.{p}" for p in find_packages(folder)]

setup(packages=packages)
