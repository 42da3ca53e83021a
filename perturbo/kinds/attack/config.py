"""``perturbo run attack``: the attack kind's settings and flags.

No torch here: ``perturbo --help`` imports this module only.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from perturbo.config import existing_file, field_help

OBJECTIVES = ("robust", "min-eps", "pareto")
PARETO_OBJECTIVES = (("success_rate", "max"), ("median_norm", "min"), ("passes", "min"))


_EXAMPLES = {"input_range": "0,1", "mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225"}
_WHAT = {
    "input_range": "two numbers low,high with low < high",
    "mean": "numbers separated by commas, one per channel",
    "std": "numbers separated by commas, one per channel",
}


def _floats(v: Any) -> list[float] | None:
    if v is None:
        return None
    parts = v.split(",") if isinstance(v, str) else list(v)
    return [float(p) for p in parts if str(p).strip()]


class AttackConfig(BaseModel):
    """What an attack campaign is. Logged to MLflow as the campaign's config (resume rebuilds
    from it), so every field is plain JSON."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["attack"] = "attack"
    model: str = Field(
        "digits-cnn",
        description="target: digits-cnn, digits-cnn-adv, wine-mlp, a TorchScript file, or "
        "module:factory (with --allow-user-code)",
    )
    data: str | None = Field(None, description=".npz with x (inputs) and y (int labels)")
    input_range: list[float] | None = Field(None, description="the model's input range low,high")
    mean: list[float] | None = Field(
        None, description="normalisation inside the model: mean per channel"
    )
    std: list[float] | None = Field(
        None, description="normalisation inside the model: std per channel"
    )
    allow_user_code: bool = Field(
        False, description="allow --model module:factory (runs your code)"
    )
    eps: float = Field(0.1, description="perturbation budget (l0: pixels)")
    norm: Literal["linf", "l2", "l0"] = Field("linf", description="threat model")
    objective: Literal["robust", "min-eps", "pareto"] = Field(
        "robust",
        description="robust: minimise robust accuracy at eps; min-eps: the smallest eps "
        "reaching --target-success; pareto: success vs perturbation size vs passes",
    )
    target_success: float = Field(0.9, gt=0, le=1, description="min-eps: success rate to reach")
    methods: list[str] | None = Field(
        None, description="attack methods to search (default: all for the norm)"
    )
    planner: str = Field("bo", description="who proposes")
    trials: int = Field(40, gt=0, description="attack configs to run in all")
    batch: int = Field(4, gt=0, description="configs per round, run in parallel")
    seed: int = Field(0, description="random seed (planner and attacks)")
    samples: int = Field(500, gt=0, description="held-out samples attacked")
    cascade: bool = Field(True, description="later configs attack only the samples still robust")
    max_passes: int | None = Field(
        None, gt=0, description="stop once the trials spent this many forward + backward passes"
    )
    stop_when_done: bool = Field(
        True,
        description="end once configs spending half the passes it took to reach the worst "
        "case break nothing more",
    )
    reference: str | None = Field(
        None,
        description="plots: a reference point ACC@PASSES (e.g. AutoAttack's 0.746@3.67e6)",
    )
    cache_dir: str | None = Field(None, description="where built-in targets are cached")
    train_epochs: int | None = Field(None, gt=0, description="built-ins: training epochs")

    @field_validator("input_range", "mean", "std", mode="before")
    @classmethod
    def _float_list(cls, v: Any, info: ValidationInfo) -> list[float] | None:
        example = _EXAMPLES[str(info.field_name)]
        try:
            out = _floats(v)
        except (TypeError, ValueError):
            out = None
            bad = True
        else:
            bad = out is not None and not all(math.isfinite(x) for x in out)
        if info.field_name == "input_range" and out is not None:
            bad = bad or len(out) != 2 or out[0] >= out[1]
        if bad:
            shown = v if isinstance(v, str) else ",".join(map(str, v))
            raise ValueError(
                f"{shown!r} is not {_WHAT[str(info.field_name)]}; pass e.g. "
                f"--{str(info.field_name).replace('_', '-')} {example}"
            )
        return out

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, v: Any) -> list[str] | None:
        if v is None:
            return None
        parts = v.split(",") if isinstance(v, str) else list(v)
        return [str(p).strip() for p in parts if str(p).strip()]

    @field_validator("data")
    @classmethod
    def _data(cls, v: str | None) -> str | None:
        return existing_file(v, "data file", "pass an .npz with arrays x and y")

    @field_validator("reference")
    @classmethod
    def _reference(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parse_reference(v)
        return v

    @field_validator("eps")
    @classmethod
    def _eps(cls, v: float) -> float:
        if not v > 0:
            raise ValueError(f"eps {v} must be > 0 (e.g. 0.1 for linf on [0,1] inputs)")
        return v


def parse_reference(text: str) -> tuple[float, float]:
    """``"0.746@3.67e6"`` -> ``(0.746, 3.67e6)``: a robust accuracy reached at that many
    passes (another tool's), drawn beside the campaign's curve."""
    try:
        acc, passes = (float(p) for p in str(text).split("@"))
    except ValueError:
        acc = passes = math.nan
    if not (0 <= acc <= 1 and passes > 0 and math.isfinite(passes)):
        raise ValueError(
            f"{text!r} is not ACCURACY@PASSES; pass e.g. --reference 0.746@3.67e6 (robust "
            "accuracy 0.746 at 3.67 million passes)"
        )
    return acc, passes


_help = partial(field_help, AttackConfig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The attack kind's flags. Defaults are SUPPRESSed so a TOML file can set them."""
    s = argparse.SUPPRESS
    g = parser.add_argument_group("attack campaign")
    g.add_argument("--model", default=s, metavar="NAME|FILE|module:factory", help=_help("model"))
    g.add_argument("--data", default=s, metavar="NPZ", help=_help("data"))
    g.add_argument(
        "--input-range",
        dest="input_range",
        default=s,
        metavar="LOW,HIGH",
        help=_help("input_range", "; built-ins: 0,1"),
    )
    g.add_argument("--mean", default=s, metavar="M[,M...]", help=_help("mean"))
    g.add_argument("--std", default=s, metavar="S[,S...]", help=_help("std"))
    g.add_argument(
        "--allow-user-code",
        dest="allow_user_code",
        action="store_true",
        default=s,
        help=_help("allow_user_code"),
    )
    g.add_argument("--eps", type=float, default=s, help=_help("eps"))
    g.add_argument("--norm", default=s, choices=("linf", "l2", "l0"), help=_help("norm"))
    g.add_argument("--objective", default=s, choices=OBJECTIVES, help=_help("objective"))
    g.add_argument(
        "--target-success",
        dest="target_success",
        type=float,
        default=s,
        help=_help("target_success"),
    )
    g.add_argument(
        "--methods",
        default=s,
        metavar="M[,M...]",
        help=_help(
            "methods",
            ": fgsm, pgd, apgd-ce, apgd-dlr, apgd-t, square, cw-l2, deepfool (l2), onepixel (l0)",
        ),
    )
    g.add_argument(
        "--planner",
        default=s,
        metavar="NAME",
        help=_help("planner", ": bo, optuna, optuna-tpe, evolution, sobol, random, agent"),
    )
    g.add_argument("--trials", type=int, default=s, help=_help("trials"))
    g.add_argument("--batch", type=int, default=s, help=_help("batch"))
    g.add_argument("--seed", type=int, default=s, help=_help("seed"))
    g.add_argument("--samples", type=int, default=s, help=_help("samples"))
    g.add_argument(
        "--no-cascade",
        dest="cascade",
        action="store_false",
        default=s,
        help="attack every sample with every config (default: cascade)",
    )
    g.add_argument("--max-passes", dest="max_passes", type=int, default=s, help=_help("max_passes"))
    g.add_argument(
        "--no-stop-when-done",
        dest="stop_when_done",
        action="store_false",
        default=s,
        help="run the whole trial/pass budget (default: end once configs spending half the "
        "passes it took to reach the worst case break nothing more)",
    )
    g.add_argument("--reference", default=s, metavar="ACC@PASSES", help=_help("reference"))
    g.add_argument("--cache-dir", dest="cache_dir", default=s, help=_help("cache_dir"))


def default_name(config: Mapping[str, Any]) -> str:
    model = Path(str(config.get("model", "model"))).stem.replace(":", "-")
    return (
        f"attack-{model}-{config.get('norm', 'linf')}-{config.get('eps', 0.1):g}-"
        f"{config.get('planner', 'bo')}-s{config.get('seed', 0)}"
    )


__all__ = [
    "OBJECTIVES",
    "PARETO_OBJECTIVES",
    "AttackConfig",
    "add_arguments",
    "default_name",
    "parse_reference",
]
