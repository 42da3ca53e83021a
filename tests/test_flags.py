"""Settings are written once: every kind's flags are generated from its settings model
(:mod:`perturbo.flags`), so every field is on the command line and a flag's value lands in
that field.

``--help`` speed (issue 18), median wall seconds of 10 runs on the shared 2-core dev box. Before
generation, console script, idle box: ``perturbo --help`` 0.201 s, ``perturbo run genetic
--help`` 0.202 s. Before vs after interleaved (``python -m perturbo.cli``, same load, load
average ~10): ``--help`` 1.048 s vs 0.996 s, ``run genetic --help`` 1.237 s vs 1.226 s. Building
the three kinds' flags in-process: 0.5 ms hand-written, 1.1 ms generated. The run options'
flags generated too (RunOptions): the whole ``build_parser()`` in-process, median of 30
interleaved, 28.7 ms with them hand-written vs 25.9 ms generated; console script, median of 10
(load ~5-6): ``--help`` 0.83 s before, 0.47-0.83 s after, ``run genetic --help`` 0.89 s before,
0.35-1.13 s after (the load moves it more than the change).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from perturbo import cli, kinds
from perturbo import config as cfg
from perturbo.flags import SKIP, Flag, add_flags, choices, defaults, help_text, option

KINDS = kinds.names()

BEFORE = {
    "genetic": "--acquisition --agent-share --agent-style --batch --critic --first-round "
    "--hit-tail --hits --llm --llm-base-url --llm-max-tokens --llm-model "
    "--llm-structured-method --llm-threads --max-repairs --modality --no-learn-from-past "
    "--planner --prior --rounds --screen --seed --target --task --text-rerank",
    "hyperparameter": "--allow-user-code --asha --batch --direction --eta --llm "
    "--llm-base-url --llm-max-tokens --llm-model --llm-structured-method --llm-threads "
    "--max-epochs --max-repairs --min-epochs --objective --planner --seed --space --task "
    "--trials",
    "attack": "--allow-user-code --batch --cache-dir --data --eps --input-range --max-passes "
    "--mean --methods --model --no-cascade --no-stop-when-done --norm --objective --planner "
    "--reference --samples --seed --std --target-success --trials",
}
"""Each kind's flags as written by hand before generation: scripts and docs use them, so none
may be renamed or lost."""
BEFORE_RUN = (
    "--name --config --tracking-uri --address --local --workers --schedule "
    "--experiment-timeout --pin --no-progress"
)
"""The run options' flags as written by hand before generation (``resume``: all but --name
and --config)."""


def _command_parser(command: str) -> argparse.ArgumentParser:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def _kind_parser(kind: str) -> argparse.ArgumentParser:
    run = _command_parser("run")
    kind_sub = next(a for a in run._actions if isinstance(a, argparse._SubParsersAction))
    return kind_sub.choices[kind]


def _options(p: argparse.ArgumentParser) -> set[str]:
    return {o for a in p._actions for o in a.option_strings}


def _text_samples(tmp: Path) -> dict[str, str]:
    """Values for text settings whose validators want something real (a file, a format)."""
    npz, toml = tmp / "d.npz", tmp / "space.toml"
    npz.write_bytes(b"")
    toml.write_text("[x]\ntype = 'float'\nlow = 0\nhigh = 1\n")
    return {
        "planner": "random",
        "data": str(npz),
        "space": str(toml),
        "reference": "0.5@1e6",
        "input_range": "0,2",
        "mean": "0.5,0.4",
        "std": "0.2,0.3",
        "methods": "fgsm,pgd",
    }


def _sample(name: str, info: Any, texts: dict[str, str]) -> tuple[list[str], Any]:
    """(the argv tail that sets field ``name`` to a non-default value, the typed value)."""
    flag = option(name, info)
    if info.annotation is bool:
        return [flag], not info.default
    allowed = choices(info.annotation)
    if allowed:
        value = next(c for c in allowed if c != info.default)
        return [flag, str(value)], value
    default = info.default
    if isinstance(default, bool) or name in texts:
        return [flag, texts[name]], texts[name]
    kind_of = {int: int, float: float}.get(type(default))
    if kind_of is None and "int" in str(info.annotation):
        kind_of = int
    if kind_of is None and "float" in str(info.annotation):
        kind_of = float
    if kind_of is int:
        value: Any = (default or 0) + 2
    elif kind_of is float:
        value = default / 2 if default and 0 < default <= 1 else (default or 0) + 1.5
    else:
        value = f"sample-{name}"
    return [flag, str(value)], value


@pytest.mark.parametrize("kind", KINDS)
def test_every_setting_has_a_flag_that_lands_in_its_field(kind: str, tmp_path: Path) -> None:
    """Walk every field of the kind's settings model: its flag exists, and the value given on
    the command line is what the validated model holds (not the default)."""
    spec = kinds.get(kind)
    parser = _kind_parser(kind)
    texts = _text_samples(tmp_path)
    fields = {n: i for n, i in spec.config_model.model_fields.items() if n not in SKIP}
    assert fields, kind
    for name, info in fields.items():
        argv, typed = _sample(name, info, texts)
        assert argv[0] in _options(parser), (kind, name, argv[0])
        ns = parser.parse_args(argv)
        values = cli.run_values(ns)
        assert values == {name: typed}, (kind, name, values)
        _, model = cfg.load(spec.config_model, values, None, kind=kind)
        expected = getattr(spec.config_model.model_validate({name: typed}), name)
        got = getattr(model, name)
        assert got == expected and got != info.default, (kind, name, got, info.default)


@pytest.mark.parametrize("kind", KINDS)
def test_no_flag_renamed_or_lost(kind: str) -> None:
    options = _options(_kind_parser(kind))
    missing = set(BEFORE.get(kind, "").split() + BEFORE_RUN.split()) - options
    assert not missing, (kind, missing)


def test_resume_keeps_its_run_flags() -> None:
    missing = set(BEFORE_RUN.split()) - {"--name", "--config"} - _options(_command_parser("resume"))
    assert not missing, missing


class _MoreRunOptions(cfg.RunOptions):
    toy_limit: int | None = Field(None, gt=0, description="a run option added to the model")


def test_run_options_flags_are_generated_from_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run option's flag (``perturbo run KIND`` and ``resume``) is generated from
    :class:`~perturbo.config.RunOptions`: its help is the field's, and a field added to the
    model is on the command line with no second declaration."""
    monkeypatch.setattr(cfg, "RunOptions", _MoreRunOptions)
    parsers = {kind: _kind_parser(kind) for kind in KINDS} | {"resume": _command_parser("resume")}
    for where, parser in parsers.items():
        actions = {o: a for a in parser._actions for o in a.option_strings}
        for name, info in _MoreRunOptions.model_fields.items():
            if where == "resume" and name == "name":
                continue
            action = actions.get(option(name, info))
            assert action is not None, (where, name)
            assert (action.dest, action.help) == (name, help_text(name, info)), (where, name)
        ns = parser.parse_args(["CAMPAIGN"] if where == "resume" else [])
        assert "toy_limit" not in vars(ns)  # SUPPRESSed: a TOML file may set it
        ns = parser.parse_args([*(["CAMPAIGN"] if where == "resume" else []), "--toy-limit", "3"])
        assert ns.toy_limit == 3, where


@pytest.mark.parametrize("kind", KINDS)
def test_help_shows_each_default_and_the_choices(kind: str) -> None:
    spec = kinds.get(kind)
    text = " ".join(_kind_parser(kind).format_help().split())
    for name, info in spec.config_model.model_fields.items():
        if name in SKIP or (info.annotation is bool and info.default is True):
            continue
        assert f"(default: {info.default})" in text, (kind, name)
        allowed = choices(info.annotation)
        if allowed:
            assert f"{option(name, info)} {'|'.join(map(str, allowed))}" in text, (kind, name)


def test_rwr_is_reachable() -> None:
    """The gene BO's fourth acquisition had no way in from the command line (issue 18)."""
    ns = _kind_parser("genetic").parse_args(["--acquisition", "rwr"])
    _, model = cfg.load(kinds.get("genetic").config_model, cli.run_values(ns), None)
    assert model.acquisition == "rwr"


class _Toy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["toy"] = "toy"
    size: int | None = Field(None, gt=0, description="how big")
    mode: Annotated[Literal["a", "b"], Flag(group="more")] = Field("a", description="which")
    keep: Annotated[bool, Flag(name="--no-keep-it")] = Field(True, description="keep it")
    share: float = Field(0.5, description="a 50% share")


def test_generator_on_a_toy_model() -> None:
    p = argparse.ArgumentParser()
    add_flags(p, _Toy, {"": "toy", "more": "more toy"})
    assert "--kind" not in _options(p)
    ns = p.parse_args(["--size", "3", "--mode", "b", "--no-keep-it", "--share", "0.25"])
    assert vars(ns) == {"size": 3, "mode": "b", "keep": False, "share": 0.25}
    assert vars(p.parse_args([])) == {}  # defaults SUPPRESSed: a TOML file may set them
    with pytest.raises(SystemExit):
        p.parse_args(["--size", "many"])  # typed: argparse refuses it
    text = p.format_help()
    assert "a 50% share (default: 0.5)" in text and "--mode a|b" in text
    assert text.index("more toy:") > text.index("--share")  # groups in the order given


def test_a_field_in_an_untitled_group_is_refused() -> None:
    with pytest.raises(ValueError, match="more"):
        add_flags(argparse.ArgumentParser(), _Toy, {"": "toy"})


def test_defaults_are_the_models_and_read_only() -> None:
    d = defaults(_Toy)
    assert dict(d) == {"kind": "toy", "size": None, "mode": "a", "keep": True, "share": 0.5}
    with pytest.raises(TypeError):
        d["size"] = 3  # type: ignore[index]


def test_the_python_apis_defaults_are_the_models() -> None:
    """``perturbo.Campaign`` takes its settings' defaults from the kind's model (issue 18:
    they were retyped in its signature): the signature shows them, and a campaign built with
    no arguments holds the model's defaults for every setting it passes on."""
    import inspect

    from perturbo.kinds.hyperparameter.api import Campaign
    from perturbo.kinds.hyperparameter.settings import HyperparameterConfig

    model = defaults(HyperparameterConfig)
    params = inspect.signature(Campaign).parameters
    shared = [n for n in params if n in model]
    assert len(shared) >= 12, shared
    for name in shared:
        assert params[name].default == model[name], name
    config = Campaign().config
    assert config == {k: model[k] for k in config}
    assert HyperparameterConfig.model_validate(config) == HyperparameterConfig()
