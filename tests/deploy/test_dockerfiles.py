"""The images install perturbo the way `make install` does: the same torch pin first, the same
package install with the same CMAKE_ARGS for llama-cpp-python, the compilers it needs, the
gene-set caches; and the pins agree with pyproject.toml and the manifests."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IMAGES = ("Dockerfile", "Dockerfile.cuda")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pin(name: str) -> str:
    for dep in _pyproject()["project"]["dependencies"]:
        m = re.fullmatch(rf"{re.escape(name)}(\[[^\]]*\])?==(\S+)", dep)
        if m:
            return m.group(2)
    raise AssertionError(f"{name} is not pinned in pyproject.toml")


def _run_commands(dockerfile: str) -> list[str]:
    """Every shell command of every RUN, in order (continuations joined, split at &&)."""
    text = (DEPLOY / dockerfile).read_text().replace("\\\n", " ")
    cmds: list[str] = []
    for line in text.splitlines():
        if line.startswith("RUN "):
            cmds += [c.strip() for c in line[4:].split("&&") if c.strip()]
    return cmds


def _makefile_install() -> list[str]:
    """The recipe of `make install` (the $(STAMP) target), with $(VAR)s expanded."""
    text = (ROOT / "Makefile").read_text()
    var = dict(re.findall(r"^(\w+)\s*:?=\s*(.*?)\s*$", text, flags=re.M))
    recipe = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", text, flags=re.M)
    assert recipe, "no $(STAMP) recipe in the Makefile"
    lines = []
    for line in recipe.group(1).splitlines():
        line = line.strip().lstrip("@")
        for _ in range(3):  # nested variables: PIP := $(PY) -m pip, PY := $(BIN)/python ...
            line = re.sub(r"\$\((\w+)\)", lambda m: var.get(m.group(1), m.group(0)), line)
        lines.append(line)
    return lines


def _pip_installs(commands: list[str]) -> list[tuple[dict[str, str], list[str], list[str]]]:
    """(env prefix, requirements, options) of each `pip install`, requirements normalised:
    extras and -e dropped (the image installs the package itself, not editable, no dev tools)."""
    out = []
    for cmd in commands:
        argv = shlex.split(cmd)
        env = {}
        while argv and re.fullmatch(r"[A-Z_]+=.*", argv[0]):
            k, _, v = argv.pop(0).partition("=")
            env[k] = v
        if "pip" not in argv or "install" not in argv:
            continue
        args = argv[argv.index("install") + 1 :]
        reqs, opts = [], []
        it = iter(args)
        for a in it:
            if a in ("--index-url", "--extra-index-url", "-i"):
                opts += [a, next(it)]
            elif a.startswith("-"):
                opts.append(a)
            else:
                reqs.append(re.sub(r"\[[^\]]*\]$", "", a))
        out.append((env, reqs, opts))
    return out


def test_makefile_recipe_is_read() -> None:
    installs = _pip_installs(_makefile_install())
    assert [r for _, r, _ in installs] == [["torch==2.13.0"], ["."]]
    assert installs[1][0] == {"CMAKE_ARGS": "-DLLAVA_BUILD=OFF"}


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_installs_like_the_makefile(dockerfile: str) -> None:
    make = _pip_installs(_makefile_install())
    image = _pip_installs(_run_commands(dockerfile))
    assert [r for _, r, _ in image] == [r for _, r, _ in make], "same installs, same order"
    assert image[0][1] == [f"torch=={_pin('torch')}"]  # torch first, at pyproject's pin
    assert image[1][0] == make[1][0], "same build environment (CMAKE_ARGS) for the package"
    make_steps = [c for c in _makefile_install() if " -m perturbo." in c]
    image_steps = [c for c in _run_commands(dockerfile) if c.startswith("python -m perturbo.")]
    assert [c.split(" -m ")[1] for c in make_steps] == [c.split(" -m ")[1] for c in image_steps]


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_has_what_compiling_llama_cpp_needs(dockerfile: str) -> None:
    cmds = _run_commands(dockerfile)
    apt = next(i for i, c in enumerate(cmds) if "apt-get install" in c)
    package = next(i for i, c in enumerate(cmds) if re.search(r"pip install \.(\s|$)", c))
    assert apt < package
    assert {"build-essential", "cmake"} <= set(shlex.split(cmds[apt]))
    assert "python:3.11" in (DEPLOY / dockerfile).read_text()  # requires-python >= 3.11


def test_torch_builds() -> None:
    """CPU image: torch from PyTorch's CPU index; CUDA image: PyPI's torch, the CUDA build."""
    (_, _, cpu_opts), *_ = _pip_installs(_run_commands("Dockerfile"))
    (_, _, cuda_opts), *_ = _pip_installs(_run_commands("Dockerfile.cuda"))
    assert cpu_opts == ["--index-url", CPU_INDEX]
    assert cuda_opts == []


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_copies_every_package_dir(dockerfile: str) -> None:
    text = (DEPLOY / dockerfile).read_text()
    copied = {src for ln in text.splitlines() if ln.startswith("COPY ") for src in ln.split()[1:-1]}
    dirs = set(_pyproject()["tool"]["setuptools"]["package-dir"].values())
    assert dirs <= copied, f"not copied into the image: {sorted(dirs - copied)}"
    assert "pyproject.toml" in copied and "README.md" in copied


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_runs_unprivileged(dockerfile: str) -> None:
    lines = (DEPLOY / dockerfile).read_text().splitlines()
    assert [ln for ln in lines if ln.startswith("USER ")][-1] == "USER ray"


def test_pins_agree() -> None:
    ray = _pin("ray")
    for name in ("kuberay-raycluster.yaml", "kuberay-rayjob.yaml"):
        assert f'rayVersion: "{ray}"' in (DEPLOY / name).read_text(), name
    mlflow = _pin("mlflow")
    assert f"mlflow=={mlflow}" in (DEPLOY / "Dockerfile.mlflow").read_text()
    assert f"perturbo-mlflow:{mlflow}" in (DEPLOY / "mlflow-compose.yaml").read_text()
