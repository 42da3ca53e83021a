"""The images install perturbo the way `make install` does: the same torch pin first, the same
package install with the same CMAKE_ARGS for llama-cpp-python, the compilers it needs, the
gene-set caches; and the pins agree with pyproject.toml and the manifests."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
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
    """The recipes of `make install` and `make install-dev` (the $(STAMP...) targets), in
    Makefile order, with $(VAR)s expanded."""
    text = (ROOT / "Makefile").read_text()
    var = dict(re.findall(r"^(\w+)\s*:?=\s*(.*?)\s*$", text, flags=re.M))
    recipes = re.findall(r"^\$\(STAMP\w*\):.*\n((?:\t.*\n)+)", text, flags=re.M)
    assert recipes, "no $(STAMP) recipe in the Makefile"
    lines = []
    for line in "".join(recipes).splitlines():
        line = line.strip().lstrip("@")
        for _ in range(3):  # nested variables: PIP := $(PY) -m pip, PY := $(BIN)/python ...
            line = re.sub(r"\$\((\w+)\)", lambda m: var.get(m.group(1), m.group(0)), line)
        lines.append(line)
    return lines


@dataclass(frozen=True)
class Install:
    env: dict[str, str]
    reqs: list[str]  # requirements without extras ("." = the package)
    extras: frozenset[str]  # of the package
    opts: list[str]


def _pip_installs(commands: list[str]) -> list[Install]:
    """Each `pip install` of ``commands``: its env prefix, requirements, extras, options."""
    out = []
    for cmd in commands:
        argv = shlex.split(cmd)
        env = {}
        while argv and re.fullmatch(r"[A-Z_]+=.*", argv[0]):
            k, _, v = argv.pop(0).partition("=")
            env[k] = v
        if "pip" not in argv or "install" not in argv:
            continue
        reqs, opts, extras = [], [], set()
        it = iter(argv[argv.index("install") + 1 :])
        for a in it:
            if a in ("--index-url", "--extra-index-url", "-i"):
                opts += [a, next(it)]
            elif a.startswith("-"):
                opts.append(a)  # -e: the image installs the package itself, not editable
            else:
                m = re.fullmatch(r"(.*?)(?:\[([^\]]*)\])?", a)
                reqs.append(m.group(1))
                extras |= set(filter(None, (m.group(2) or "").split(",")))
        out.append(Install(env, reqs, frozenset(extras), opts))
    return out


def _extras_closure(extras: frozenset[str]) -> set[str]:
    """The extras these pull in (``dev = ["perturbo[llm]", ...]`` pulls ``llm``)."""
    table = _pyproject()["project"].get("optional-dependencies", {})
    seen, todo = set(), list(extras)
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.add(e)
        for dep in table.get(e, []):
            m = re.fullmatch(r"perturbo\[([^\]]*)\]", dep.replace(" ", ""))
            if m:
                todo += m.group(1).split(",")
    return seen


def _builds_llama(i: Install) -> bool:
    """Whether this install brings llama-cpp-python (compiled from source)."""
    if "." not in i.reqs:
        return any(r.startswith("llama-cpp-python") for r in i.reqs)
    project = _pyproject()["project"]
    deps = list(project["dependencies"])
    for e in _extras_closure(i.extras):
        deps += project.get("optional-dependencies", {}).get(e, [])
    return any(d.startswith("llama-cpp-python") for d in deps)


def _llama_env() -> dict[str, str]:
    (env,) = {
        tuple(sorted(i.env.items())) for i in _pip_installs(_makefile_install()) if _builds_llama(i)
    }
    return dict(env)


def test_makefile_recipe_is_read() -> None:
    installs = _pip_installs(_makefile_install())
    assert installs[0].reqs == ["torch==2.13.0"]
    assert all(i.reqs == ["."] for i in installs[1:]) and len(installs) >= 2
    env = _llama_env()
    flags = env["CMAKE_ARGS"].split()
    # portable: never the build machine's own instructions (a native build segfaults on AMX
    # CPUs), and never a wheel cached by an earlier build with other flags
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AVX2=ON" in flags
    assert not any(f.startswith(("-DGGML_AVX512=ON", "-DGGML_NATIVE=ON")) for f in flags)
    assert env.get("PIP_NO_CACHE_DIR") == "1"


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_installs_like_the_makefile(dockerfile: str) -> None:
    image = _pip_installs(_run_commands(dockerfile))
    assert image[0].reqs == [f"torch=={_pin('torch')}"], "torch first, at pyproject's pin"
    assert image[0].reqs == _pip_installs(_makefile_install())[0].reqs
    assert [i.reqs for i in image[1:]] == [["."]], "then the package, once"
    (package,) = image[1:]
    assert "llm" in _extras_closure(package.extras), "the image runs the agent planners too"
    assert "dev" not in package.extras, "an image runs campaigns; it does not test"
    assert _builds_llama(package) and package.env == _llama_env(), (
        "llama-cpp-python is compiled with the Makefile's CMAKE_ARGS"
    )
    make_steps = [c for c in _makefile_install() if " -m perturbo." in c]
    image_steps = [c for c in _run_commands(dockerfile) if c.startswith("python -m perturbo.")]
    assert [c.split(" -m ")[1] for c in make_steps] == [c.split(" -m ")[1] for c in image_steps]


@pytest.mark.parametrize("dockerfile", IMAGES)
def test_image_has_what_compiling_llama_cpp_needs(dockerfile: str) -> None:
    cmds = _run_commands(dockerfile)
    apt = next(i for i, c in enumerate(cmds) if "apt-get install" in c)
    package = next(
        i for i, c in enumerate(cmds) if re.search(r"pip install \"?\.[\[\s\"]", c + " ")
    )
    assert apt < package
    assert {"build-essential", "cmake"} <= set(shlex.split(cmds[apt]))
    assert "python:3.11" in (DEPLOY / dockerfile).read_text()  # requires-python >= 3.11


def test_torch_builds() -> None:
    """CPU image: torch from PyTorch's CPU index; CUDA image: PyPI's torch, the CUDA build."""
    assert _pip_installs(_run_commands("Dockerfile"))[0].opts == ["--index-url", CPU_INDEX]
    assert _pip_installs(_run_commands("Dockerfile.cuda"))[0].opts == []


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


def test_every_package_dir_is_installed() -> None:
    """The images `pip install .` (not editable): a package directory missing from the
    package list (found by setup.py) is left out of the image, while an editable install here
    still imports it (a folder of modules without an __init__.py, say)."""
    import runpy

    setup = _pyproject()["tool"]["setuptools"]
    listed = set(runpy.run_path(str(ROOT / "setup.py"), run_name="setup")["packages"]())
    found = set()
    for package, directory in setup["package-dir"].items():
        for d in sorted({p.parent for p in (ROOT / directory).rglob("*.py")}):
            if "__pycache__" not in d.parts and not d.name.startswith("."):
                rel = d.relative_to(ROOT / directory).parts
                found.add(".".join((package, *rel)))
    assert found <= listed, f"not in setup.py's packages: {sorted(found - listed)}"
    for dockerfile in sorted((ROOT / "deploy").glob("Dockerfile*")):
        copied = " ".join(
            line for line in dockerfile.read_text().splitlines() if line.startswith("COPY ")
        ).split()
        if "pyproject.toml" in copied:  # an image that installs perturbo needs the package list
            assert "setup.py" in copied, f"{dockerfile.name} does not COPY setup.py"
