"""``perturbo run attack``: the attack kind's settings and flags.

No torch here: ``perturbo --help`` imports this module only.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from perturbo.config import existing_file
from perturbo.flags import Flag, add_flags, choices, defaults

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
    model: Annotated[str, Flag(metavar="NAME|FILE|module:factory", path="file_or_name")] = Field(
        "digits-cnn",
        description="target: digits-cnn, digits-cnn-adv, wine-mlp, a TorchScript file, or "
        "module:factory (with --allow-user-code)",
    )
    data: Annotated[str | None, Flag(metavar="NPZ", path="file")] = Field(
        None, description=".npz with x (inputs) and y (int labels)"
    )
    input_range: Annotated[list[float] | None, Flag(metavar="LOW,HIGH", default="0,1")] = Field(
        None, description="the model's input range low,high"
    )
    mean: Annotated[list[float] | None, Flag(metavar="M[,M...]")] = Field(
        None, description="normalisation inside the model: mean per channel"
    )
    std: Annotated[list[float] | None, Flag(metavar="S[,S...]")] = Field(
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
    methods: Annotated[
        list[str] | None,
        Flag(
            metavar="M[,M...]",
            more=": fgsm, pgd, apgd-ce, apgd-dlr, apgd-t, square, cw-l2, deepfool (l2), "
            "onepixel (l0). An experiment (--pin) is a method and its params: loss (fgsm: "
            "ce, cw, dlr); steps, restarts (1-4), loss, step_rel (0.02-1) (pgd); steps "
            "(5-100), restarts (apgd-ce, apgd-dlr); steps, targets (1-9) (apgd-t); queries "
            "(100-5000), p_init (0.05-0.8) (square); steps, confidence (0-5) (cw-l2); steps "
            "(deepfool); popsize (20-400), iters (5-100) (onepixel), e.g. --pin "
            '\'{"method": "pgd", "steps": 10, "restarts": 1, "loss": "ce", '
            '"step_rel": 0.25}\'',
        ),
    ] = Field(None, description="attack methods to search (default: all for the norm)")
    planner: Annotated[
        str, Flag(metavar="NAME", more=": bo, optuna, optuna-tpe, evolution, sobol, random, agent")
    ] = Field("bo", description="who proposes")
    trials: int = Field(40, gt=0, description="attack configs to run in all")
    batch: int = Field(4, gt=0, description="configs per round, run in parallel")
    seed: int = Field(0, description="random seed (planner and attacks)")
    samples: int = Field(500, gt=0, description="held-out samples attacked")
    cascade: Annotated[
        bool, Flag(off="attack every sample with every config (default: cascade)")
    ] = Field(True, description="later configs attack only the samples still robust")
    max_passes: int | None = Field(
        None, gt=0, description="stop once the trials spent this many forward + backward passes"
    )
    max_seconds: Annotated[float | None, Flag(metavar="SECONDS", default="no limit")] = Field(
        None,
        gt=0,
        description="start no new config after this many seconds of the campaign (those "
        "running finish and are recorded)",
    )
    stop_when_done: Annotated[
        bool,
        Flag(
            off="run the whole trial/pass budget (default: end once configs spending half "
            "the passes it took to reach the worst case break nothing more)"
        ),
    ] = Field(
        True,
        description="end once configs spending half the passes it took to reach the worst "
        "case break nothing more",
    )
    escalate: Annotated[
        bool,
        Flag(
            off="run every config as its planner proposed it (default: start at a few "
            "gradient steps per sample, x4 only when a config breaks nothing new)"
        ),
    ] = Field(
        True,
        description="under the cascade: fit configs to a cost ladder that starts cheap and "
        "climbs when a config breaks nothing new; each climb first tries what broke the "
        "standing samples' nearest neighbours",
    )
    reference: Annotated[str | None, Flag(metavar="ACC@PASSES")] = Field(
        None,
        description="plots: a reference point ACC@PASSES (e.g. AutoAttack's 0.746@3.67e6)",
    )
    certify: Literal["auto", "off", "ibp", "crown", "alpha"] = Field(
        "auto",
        description="the certified lower bound the campaign ends with: auto = IBP, then CROWN "
        "on the samples IBP leaves open within a time cap; crown: no cap; alpha: then "
        "alpha-CROWN; off: none",
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
        if info.field_name == "std" and out is not None and not bad:
            shown = v if isinstance(v, str) else ",".join(map(str, v))
            if min(out, default=1) <= 0:
                raise ValueError(
                    f"{shown!r} has a std <= 0 (the model divides by it); pass stds > 0, e.g. "
                    f"--std {example}"
                )
            mean = info.data.get("mean")
            if mean is not None and len(mean) != len(out) and 1 not in (len(mean), len(out)):
                raise ValueError(
                    f"{shown!r} has {len(out)} values and --mean {len(mean)}: give both one "
                    "value per channel (or one value for every channel)"
                )
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


OBJECTIVES = choices(AttackConfig.model_fields["objective"].annotation)
"""What an attack campaign may optimise (the ``objective`` field's choices)."""
DEFAULTS = defaults(AttackConfig)
"""Every setting's default, for code that reads a plain config dict: written once, in
:class:`AttackConfig`."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The attack kind's flags, generated from :class:`AttackConfig` (defaults SUPPRESSed so
    a TOML file can set them)."""
    add_flags(parser, AttackConfig, {"": "attack campaign"})


def default_name(config: Mapping[str, Any]) -> str:
    c = {**DEFAULTS, **config}
    model = Path(str(c["model"])).stem.replace(":", "-")
    return f"attack-{model}-{c['norm']}-{c['eps']:g}-{c['planner']}-s{c['seed']}"


__all__ = [
    "DEFAULTS",
    "OBJECTIVES",
    "PARETO_OBJECTIVES",
    "AttackConfig",
    "add_arguments",
    "default_name",
    "parse_reference",
]
