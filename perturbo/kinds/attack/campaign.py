"""Assembling an attack campaign: ``build(config, context) -> CampaignParts``, the round
metrics (the per-sample worst case), and :func:`attack_campaign` for Python users.

Objectives (``objective`` in the config):

- ``robust`` (default): minimise ``robust_accuracy`` at the fixed ``eps``; the cascade on.
- ``min-eps``: ``eps`` joins the space (up to the given eps); minimise ``eps_score`` (the
  eps where the success rate reaches ``target_success``, penalised above every feasible
  eps where it does not).
- ``pareto``: ``eps`` in the space; maximise ``success_rate``, minimise ``median_norm`` and
  ``passes`` (a multi-objective planner; the recorder logs the Pareto set).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perturbo.kinds.attack.config import PARETO_OBJECTIVES, AttackConfig
from perturbo.kinds.attack.metrics import AttackMetrics, AttackStop, Final
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kindspec import BuildContext
    from perturbo.parts import CampaignParts

CAMPAIGNS: dict[str, Any] = {}
"""Campaign name -> (TargetRecipe, AttackSettings) of campaigns built in this process: what
the plotters rerun the best config with (PlotData carries no config yet)."""

LOADED: dict[Any, Any] = {}
"""The target the last :func:`build` loaded, by recipe: the plotters draw from it instead of
loading it again at the end of the campaign."""


def _make_planner(
    name: str,
    space: Any,
    seed: int,
    objectives: tuple[str, ...],
    directions: tuple[str, ...],
    config: Mapping[str, Any],
    engine: Any,
) -> Any:
    from perturbo.kinds.attack.planners import TABLE

    task = (
        f"find the strongest adversarial attack config against model {config.get('model')!r} "
        f"({config.get('norm')}, eps {config.get('eps')}): {directions[0]}imise {objectives[0]}"
    )
    return TABLE.make(
        name,
        space,
        kind="attack",
        seed=seed,
        objectives=objectives,
        directions=directions,
        config=dict(config),
        engine=engine,
        extra={"task": task},
    )


def _load_target(recipe: Any) -> Any:
    """Load the target on the driver, one line per slow step first: a built-in is trained
    once (minutes on a CPU) and cached; loading computes the clean predictions, the reference
    every trial is measured against."""
    from perturbo.kinds.attack.builtin import BUILTINS, cached_paths
    from perturbo.progress import phase

    if recipe.model in BUILTINS:
        phase(f"  preparing built-in model {recipe.model!r} (trained once, then cached) ...")
        cached_paths(recipe.model, recipe.cache_dir, recipe.train_epochs)
    phase(
        f"  loading model {recipe.model!r} and computing its clean predictions on up to "
        f"{recipe.n_samples} samples ..."
    )
    target = recipe.load()
    if len(target.y) < recipe.n_samples:  # say so: the campaign records what it attacks
        phase(
            f"  --samples {recipe.n_samples}: the data holds {len(target.y)} samples; "
            f"attacking all {len(target.y)}"
        )
    return target


def _check_eps(eps: float, norm: str, target: Any) -> None:
    span = target.hi - target.lo
    if norm == "linf" and eps >= span:
        raise PerturboError(
            f"--eps {eps:g} (linf) covers the whole input range {target.lo:g}..{target.hi:g}: "
            f"every input is reachable; pass an eps below {span:g} (e.g. {span / 10:g})"
        )
    if norm == "l2" and eps >= span * math.sqrt(target.n_features):
        raise PerturboError(
            f"--eps {eps:g} (l2) exceeds the diameter of the input space "
            f"({span * math.sqrt(target.n_features):.3g}); pass a smaller eps"
        )
    if norm == "l0":
        if target.x.dim() != 4:
            raise PerturboError(
                f"--norm l0 (one-pixel attack) needs image inputs (n, C, H, W); the data has "
                f"shape {tuple(target.x.shape)}: use --norm linf or l2"
            )
        pixels = target.x.shape[2] * target.x.shape[3]
        if eps != int(eps) or not 1 <= eps < pixels:
            raise PerturboError(
                f"--eps {eps:g} with --norm l0 is a number of pixels: pass a whole number "
                f"from 1 to {pixels - 1}"
            )


def build(
    config: Mapping[str, Any] | AttackConfig, context: BuildContext | None = None
) -> CampaignParts:
    """The parts of one attack campaign (loads the target once here, to check it)."""
    from perturbo.kinds.attack.attacks import METHODS_BY_NORM
    from perturbo.kinds.attack.cascade import CascadePlanner
    from perturbo.kinds.attack.escalate import Ladder, opening_configs
    from perturbo.kinds.attack.executor import AttackFactory, AttackSettings
    from perturbo.kinds.attack.gradients import warn_if_masked
    from perturbo.kinds.attack.report import Certifier, prior_seconds
    from perturbo.kinds.attack.samples import WorstCase
    from perturbo.kinds.attack.space import CascadeSpace, attack_space
    from perturbo.kinds.attack.targets import TargetRecipe, parse_range, warn_if_weak
    from perturbo.parts import CampaignParts

    if isinstance(config, AttackConfig):
        cfg = config
    else:
        try:
            cfg = AttackConfig.model_validate(dict(config))
        except Exception as e:  # pydantic.ValidationError: one readable line per problem
            errors = getattr(e, "errors", lambda: [])()
            text = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errors) or str(
                e
            )
            raise PerturboError(f"attack config: {text}") from None
    recipe = TargetRecipe(
        model=cfg.model,
        data=cfg.data,
        input_range=parse_range(cfg.input_range) if cfg.input_range else None,
        mean=tuple(cfg.mean) if cfg.mean else None,
        std=tuple(cfg.std) if cfg.std else None,
        allow_user_code=cfg.allow_user_code,
        cache_dir=cfg.cache_dir,
        n_samples=cfg.samples,
        train_epochs=cfg.train_epochs,
    )
    target = _load_target(recipe)  # validates model, data, shapes, labels here, on the driver
    warn_if_weak(target)  # robust accuracy of a model that is mostly wrong clean means little
    _check_eps(cfg.eps, cfg.norm, target)
    n = len(target.y)
    searched_eps = cfg.eps if cfg.objective != "robust" else None
    methods = cfg.methods
    if target.x.dim() != 4 and cfg.norm in METHODS_BY_NORM:  # Square samples image squares
        methods = [m for m in (methods or METHODS_BY_NORM[cfg.norm]) if m != "square"]
    inner = attack_space(cfg.norm, methods=methods, n_classes=target.n_classes, eps=searched_eps)
    if cfg.objective == "robust":
        objectives, directions = ("robust_accuracy",), ("min",)
    elif cfg.objective == "min-eps":
        objectives, directions = ("eps_score",), ("min",)
    else:
        objectives = tuple(o for o, _ in PARETO_OBJECTIVES)
        directions = tuple(d for _, d in PARETO_OBJECTIVES)
    engine = context.engine if context is not None else None
    planner = _make_planner(
        cfg.planner, inner, cfg.seed, objectives, directions, cfg.model_dump(), engine
    )
    worst = WorstCase(n, cfg.eps)
    cascade = cfg.cascade and cfg.objective == "robust"
    settings = AttackSettings(
        eps=cfg.eps,
        norm=cfg.norm,
        seed=cfg.seed,
        target_success=cfg.target_success,
        eps_max=cfg.eps,
    )
    if context is not None and context.campaign:
        CAMPAIGNS[context.campaign] = (recipe, settings)
    CAMPAIGNS[""] = (recipe, settings)
    LOADED.clear()
    LOADED[recipe] = target  # the plots' adversarial examples reuse it (no second load)
    params: dict[str, Any] = {
        "planner": cfg.planner,
        "seed": cfg.seed,
        "batch": cfg.batch,
        "trials": cfg.trials,
        "model": cfg.model,
        "eps": cfg.eps,
        "norm": cfg.norm,
        "objective": cfg.objective,
        "samples": n,
        "cascade": cascade,
        "max_passes": cfg.max_passes,
        "stop_when_done": cfg.stop_when_done,
        "escalate": cascade and cfg.escalate,
        "reference": cfg.reference or "",
        "certify": cfg.certify,
    }
    cascade_planner = CascadePlanner(
        planner,
        worst,
        cascade=cascade,
        max_passes=cfg.max_passes,
        stop_when_done=cfg.stop_when_done and cfg.objective == "robust",
        opening=opening_configs(inner, target.n_classes) if cascade else (),
        ladder=Ladder(
            max_targets=max(1, min(9, target.n_classes - 1)),
            features=target.x.reshape(n, -1).cpu().numpy(),  # the neighbours' distances
        )
        if cascade and cfg.escalate
        else None,
    )
    stop = AttackStop(max_experiments=cfg.trials, wall_clock_s=cfg.max_seconds)
    grad_check = warn_if_masked(target, cfg.norm, cfg.methods)
    params["gradient_check_passes"] = grad_check.passes  # counted, shown with the params
    params["masked_gradient_share"] = round(grad_check.ce_share, 3)
    return CampaignParts(
        kind="attack",
        planner=cascade_planner,
        space=CascadeSpace(inner),
        executor_factory=AttackFactory(recipe, settings),
        batch=cfg.batch,
        stop=stop,
        config=cfg.model_dump(),
        params=params,
        metrics=AttackMetrics(
            n,
            cfg.eps,
            objectives[0],
            directions[0],
            cascade_planner,
            cfg.trials,
            Certifier(
                recipe,
                cfg.eps,
                cfg.norm,
                cfg.certify,
                context.campaign if context else "",
                prior_seconds(context.store, context.campaign) if context else 0.0,
            ),  # fmt: skip
            cfg.target_success if cfg.objective == "min-eps" else None,
            stop,
        ),
        objectives=objectives,
        directions=directions,
        num_gpus_per_worker=0.25,
        tags={"model": cfg.model, "norm": cfg.norm},
    )


def attack_campaign(
    model: str = "digits-cnn",
    *,
    local: bool = True,
    workers: int | None = None,
    tracking_uri: str | None = None,
    name: str | None = None,
    resume: bool = False,
    progress: bool = False,
    **settings: Any,
) -> tuple[Any, Any]:
    """Run an attack campaign from Python; returns ``(history, worst_case)``.

    ``settings`` are :class:`AttackConfig` fields (``eps``, ``norm``, ``planner``,
    ``trials``...). ``local``: in this process (else Ray actors on 127.0.0.1, or wherever
    ``perturbo.actors.connect`` finds). ``tracking_uri``: record to MLflow too (a failure or
    Ctrl-C then marks the record FAILED or KILLED); ``resume``: continue the recorded campaign
    ``name`` there (``trials``: a larger total budget). It runs through the composition root
    (:mod:`perturbo.launch`), as ``perturbo run attack`` does, in rounds of ``batch``.
    """
    from perturbo.config import RunOptions
    from perturbo.kinds.attack import KIND
    from perturbo.kinds.attack.samples import worst_case
    from perturbo.launch import launched, only, resumed

    options = RunOptions(
        name=name,
        tracking_uri=tracking_uri,
        local=local,
        workers=workers,
        progress=progress,
        schedule="sync",  # the Python API runs rounds of ``batch`` (the CLI: the kind's)
    )
    if resume:
        if not (tracking_uri and name):
            raise PerturboError(
                "attack_campaign(resume=True) continues a recorded campaign: pass tracking_uri= "
                "and name= (the ones it ran with)"
            )
        ran = resumed(name, options, {"trials": settings.get("trials")}, spec_of=only(KIND))
    else:
        ran = launched(
            KIND,
            {"model": model, **settings},
            options,
            name=name or (None if tracking_uri else "attack"),
            record=tracking_uri is not None,
        )
    history = ran.history
    worst = worst_case(history, int(ran.parts.params["samples"]), float(ran.parts.config["eps"]))
    certifier = getattr(ran.parts.metrics, "certifier", None)
    if certifier is not None:  # the recorder's end bounded it already, else here (unrecorded)
        if certifier.result is None:
            from perturbo.progress import phase

            phase(f"  {certifier(worst).line()}")
        worst.certificate = certifier.result
    return history, worst


__all__ = [
    "CAMPAIGNS",
    "LOADED",
    "AttackMetrics",
    "AttackStop",
    "Final",
    "attack_campaign",
    "build",
]
