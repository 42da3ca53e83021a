"""``perturbo``: the command line, and the one composition root.

It builds a campaign's parts through the kind's module (``cli_genetic``,
``cli_hyperparameter``), the executor pool (Ray actors, or in-process with ``--local``),
the MLflow recorder, and hands them to :func:`perturbo.campaign.run`. Heavy libraries
(Ray, MLflow, BoTorch, LangChain) are imported only when a command needs them, so
``perturbo --help`` is fast.

Errors a user can fix (:class:`~perturbo.types.PerturboError`) print one line on stderr and
exit 2; Ctrl-C keeps every recorded round, marks the campaign KILLED and exits 130:
``perturbo resume NAME`` continues it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.config import RunOptions

KINDS = ("genetic", "hyperparameter")
_KIND_MODULES = {"genetic": "perturbo.cli_genetic", "hyperparameter": "perturbo.cli_hyperparameter"}

EPILOG = """\
examples:
  perturbo run genetic                                  # the demo: IFNG screen, bo, 5 x 128 genes
  perturbo run genetic --screen IFNG --planner bo --rounds 5 --batch 128 --seed 0
  perturbo run genetic --screen my_screen.csv --hits my_hits.txt --planner random --local
  perturbo run genetic --config run.toml                # settings from a TOML file (flags win)
  perturbo run hyperparameter --task digits-cnn --planner bo --trials 50 --batch 4
  perturbo run hyperparameter --task wine-mlp --objective val_accuracy,n_params --direction max,min
  perturbo show                                         # list the campaigns in the store
  perturbo show genetic-IFNG-bo-s0                      # its rounds and metrics
  perturbo resume genetic-IFNG-bo-s0 --rounds 8         # continue (or extend) a campaign
  perturbo ui                                           # browse everything in the MLflow UI

Results go to MLflow: by default a sqlite file ./mlflow.db (--tracking-uri or
MLFLOW_TRACKING_URI for another store or a server). Ray starts locally on 127.0.0.1
unless --address (or RAY_ADDRESS) names a cluster; --local runs without Ray.
"""

RUN_EPILOG = """\
settings come from flags, then a --config TOML file (flat keys named like the flags, with
underscores: rounds = 5, tracking_uri = "sqlite:///runs.db"), then the environment
(MLFLOW_TRACKING_URI, RAY_ADDRESS), then the defaults shown.
"""


# --------------------------------------------------------------------------- parser


def _add_run_options(p: argparse.ArgumentParser, resume: bool = False) -> None:
    s = argparse.SUPPRESS
    g = p.add_argument_group("where it runs and records")
    if not resume:
        g.add_argument(
            "--name",
            default=s,
            metavar="CAMPAIGN",
            help="campaign name = MLflow experiment (default: KIND-SCREEN-PLANNER-sSEED-TIME)",
        )
        g.add_argument(
            "--config",
            dest="config_file",
            default=s,
            metavar="FILE.toml",
            help="read settings from a TOML file; flags given here override it",
        )
    g.add_argument(
        "--tracking-uri",
        default=s,
        metavar="URI",
        help="MLflow store: sqlite:///file.db or http://host:5000 (default: "
        "$MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in this directory)",
    )
    g.add_argument(
        "--address",
        default=s,
        metavar="ADDR",
        help="join this Ray cluster (auto, host:6379, ray://host:10001; default: "
        "$RAY_ADDRESS, else start a local Ray on 127.0.0.1)",
    )
    g.add_argument(
        "--local",
        action="store_true",
        default=s,
        help="run experiments in this process, without Ray (fast for small jobs)",
    )
    g.add_argument(
        "--workers", type=int, default=s, help="parallel workers (Ray actors); default: one per CPU"
    )
    g.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        default=s,
        help="no live progress display",
    )


def _kind_module(kind: str) -> ModuleType | None:
    try:
        return importlib.import_module(_KIND_MODULES[kind])
    except ModuleNotFoundError as e:
        if e.name == _KIND_MODULES[kind]:
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perturbo",
        description="Closed-loop experiment design: planners (BO, Optuna, evolution, LLM agents) "
        "propose perturbation experiments, Ray actors run them, MLflow records them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from perturbo import __version__

    parser.add_argument("--version", action="version", version=f"perturbo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser(
        "run",
        help="run a new campaign",
        description="Run a new campaign.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = run.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for kind in KINDS:
        kp = kinds.add_parser(
            kind,
            help=f"a {kind} campaign",
            epilog=RUN_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            description=f"Run a {kind} campaign.",
        )
        mod = _kind_module(kind)
        if mod is not None:
            mod.add_arguments(kp)
        else:
            kp.set_defaults(_unavailable=True)
        _add_run_options(kp)

    res = sub.add_parser(
        "resume",
        help="continue a campaign from what MLflow recorded",
        description="Rebuild a campaign's history and config from MLflow and "
        "continue it: nothing recorded runs again, nothing is lost.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  perturbo resume genetic-IFNG-bo-s0 --rounds 8",
    )
    res.add_argument("campaign", metavar="CAMPAIGN")
    res.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="total rounds, to extend a finished campaign (default: as configured)",
    )
    res.add_argument(
        "--trials",
        type=int,
        default=None,
        help="total trials of a hyperparameter campaign, to extend it",
    )
    _add_run_options(res, resume=True)

    show = sub.add_parser(
        "show",
        help="list campaigns, or one campaign's rounds",
        description="Without CAMPAIGN: the campaigns in the store. With it: "
        "its settings and metrics per round.",
    )
    show.add_argument("campaign", nargs="?", metavar="CAMPAIGN")
    show.add_argument(
        "--tracking-uri",
        default=argparse.SUPPRESS,
        metavar="URI",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
    )

    ui = sub.add_parser(
        "ui",
        help="open the MLflow UI on the store (127.0.0.1)",
        description="Start `mlflow ui` on 127.0.0.1 for the tracking store.",
    )
    ui.add_argument(
        "--tracking-uri",
        default=argparse.SUPPRESS,
        metavar="URI",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
    )
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument("--print-only", action="store_true", help="print the command, do not start it")
    return parser


# --------------------------------------------------------------------------- running


def _settings(kind: str, ns: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from perturbo import config as cfg

    mod = _kind_module(kind)
    if mod is None:
        raise PerturboError(f"`perturbo run {kind}` is not available in this install yet")
    values = {
        k: v
        for k, v in vars(ns).items()
        if k not in ("command", "kind", "config_file") and not k.startswith("_")
    }
    model = getattr(mod, f"{kind.capitalize()}Config")  # each kind module declares its settings
    options, kind_cfg = cfg.load(model, values, getattr(ns, "config_file", None))
    return options, kind_cfg.model_dump()


def _untested_left(parts: Any, history: Sequence[Any]) -> int | None:
    space = parts.space
    if not getattr(space, "unique", False) or not hasattr(space, "__len__"):
        return None
    from perturbo.campaign import seen_keys

    return len(space) - len(seen_keys(history, space))


def run_campaign(
    kind: str,
    config: Mapping[str, Any],
    options: RunOptions,
    *,
    history: Any = None,
    resume: bool = False,
    name: str | None = None,
) -> Any:
    """Compose and run one campaign; return its History. Raises PerturboError on bad input."""
    from perturbo import tracking
    from perturbo.history import History

    mod = _kind_module(kind)
    if mod is None:
        raise PerturboError(f"`perturbo run {kind}` is not available in this install yet")
    uri = options.resolved_tracking_uri()
    tracking.check_reachable(uri)
    base = mod.default_name(config) if hasattr(mod, "default_name") else kind
    name = name or options.name or f"{base}-{time.strftime('%Y%m%d-%H%M%S')}"
    history = history if history is not None else History()

    def past_labels(screen: Any) -> list[dict[str, bool]]:
        return tracking.load_past_labels(
            uri,
            exclude_campaign=name,
            exclude_screens=[screen.name],
            exclude_studies=[screen.study],
        )

    address = options.resolved_address()
    host = _start_model_host(mod, config, options, address)
    try:
        engine = host.engine if host else None
        parts = (
            mod.build(config, past_labels=past_labels, engine=engine)
            if kind == "genetic"
            else mod.build(config, engine=engine)
        )
        return _run_parts(parts, name, uri, address, options, history, resume)
    finally:
        if host is not None:
            host.close()


@dataclass
class _HostedModel:
    """The campaign's local LLM, loaded once in a Ray actor and shared by its agents."""

    engine: Any
    runtime: Any

    def close(self) -> None:
        try:
            self.engine.shutdown()
        finally:
            self.runtime.shutdown()


def _start_model_host(
    mod: ModuleType, config: Mapping[str, Any], options: RunOptions, address: str | None
) -> _HostedModel | None:
    """Host the embedded model in a Ray actor where an agent planner uses it and the campaign
    runs on Ray (with --local the agent loads it in this process)."""
    uses = getattr(mod, "uses_local_llm", None)
    if options.local or uses is None or not uses(config):
        return None
    from perturbo.actors import connect
    from perturbo.actors.model_host import ModelHost
    from perturbo.agents.llm import engine_settings, llm_settings

    runtime = connect(address)  # the pool's connect() later joins this same Ray
    try:
        _say("loading the local LLM into a Ray actor (once per campaign) ...")
        settings = engine_settings(llm_settings(config), gpu=runtime.has_gpu())
        return _HostedModel(ModelHost.start(settings, runtime), runtime)
    except BaseException:
        runtime.shutdown()
        raise


def _run_parts(
    parts: Any,
    name: str,
    uri: str,
    address: str | None,
    options: RunOptions,
    history: Any,
    resume: bool,
) -> Any:
    from perturbo import tracking
    from perturbo.progress import RoundProgress

    left = _untested_left(parts, history)
    if left is not None and parts.batch > left:
        raise PerturboError(
            f"--batch {parts.batch} is larger than the {left} untested experiments left in "
            f"campaign {name!r}: use --batch {left} or less"
            if left
            else f"campaign {name!r} has tested every experiment in its space: nothing left to run"
        )
    opened = None
    recorder = tracking.MlflowRecorder.from_parts(parts, uri, name, resume=resume)
    done = history.last_round + 1
    try:
        from perturbo.actors import open_pool

        opened = open_pool(
            parts.executor_factory,
            local=options.local,
            address=address,
            workers=options.workers,
            num_gpus_per_worker=parts.num_gpus_per_worker,
        )
        where = opened.where
        recorder.start({"pool": where, "workers": options.workers or "auto"})
        _say(
            f"{'resuming' if resume else 'campaign'} {name!r}: {len(history)} experiments "
            f"recorded, {where}, tracking {uri}"
        )
        total = parts.stop.rounds
        if total is None and parts.stop.max_experiments is not None:
            total = -(-parts.stop.max_experiments // parts.batch)  # rounds the budget allows
        with RoundProgress(total, done, enabled=options.progress, title=name) as progress:
            history = parts.run(opened.pool, recorder=recorder, history=history, on_round=progress)
    except KeyboardInterrupt:
        msg = f"interrupted: the recorded rounds are kept; `perturbo resume {name}` continues"
        recorder.abort("KILLED", msg)
        raise Interrupted(msg) from None
    except PerturboError as e:
        recorder.abort("FAILED", str(e))
        raise
    except Exception as e:
        recorder.abort("FAILED", f"{type(e).__name__}: {e}")
        raise
    finally:
        if opened is not None:
            opened.close()
    _say(
        f"done: {len(history)} experiments in {history.last_round + 1} rounds; "
        f"`perturbo show {name}`, or `perturbo ui` and open {recorder.ui_url()}"
    )
    return history


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a campaign, with the line telling how to continue it."""


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_run(ns: argparse.Namespace) -> int:
    if getattr(ns, "_unavailable", False):
        raise PerturboError(
            f"`perturbo run {ns.kind}` is not available in this install yet: "
            "use `perturbo run genetic`"
        )
    options, config = _settings(ns.kind, ns)
    name = getattr(ns, "_campaign", None) or options.name
    run_campaign(ns.kind, config, options, name=name)
    return 0


def cmd_resume(ns: argparse.Namespace) -> int:
    from perturbo import config as cfg
    from perturbo import tracking

    values = {k: v for k, v in vars(ns).items() if k in cfg.RUN_OPTION_KEYS}
    options = cfg.build_model(cfg.RunOptions, values)
    uri = options.resolved_tracking_uri()
    config, history = tracking.load_history(uri, ns.campaign)
    kind = str(config.get("kind", "genetic"))
    config = dict(config)
    for key in ("rounds", "trials"):
        value = getattr(ns, key)
        if value is None:
            continue
        if value <= 0:
            raise PerturboError(
                f"--{key} {value}: must be a positive number; fix: use --{key} 1 or more"
            )
        if key not in config:
            raise PerturboError(
                f"--{key}: campaign {ns.campaign!r} ({kind}) has no {key} setting; "
                f"`perturbo show {ns.campaign}` shows its settings"
            )
        config[key] = value
    run_campaign(kind, config, options, history=history, resume=True, name=ns.campaign)
    return 0


def cmd_show(ns: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from perturbo import config as cfg
    from perturbo import tracking

    uri = getattr(ns, "tracking_uri", None) or cfg.env_tracking_uri() or cfg.default_tracking_uri()
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # piped: do not squeeze the tables to 80 columns
    if ns.campaign is None:
        rows = tracking.list_campaigns(uri)
        if not rows:
            console.print(f"no campaigns in {uri} yet: start one with `perturbo run genetic`")
            return 0
        t = Table(title=f"campaigns in {uri}")
        for col in (
            "campaign",
            "kind",
            "status",
            "rounds",
            "started",
            "planner",
            "subject",
            "headline",
        ):
            t.add_column(col)
        from perturbo.progress import headline

        for r in rows:
            t.add_row(
                r.name,
                r.kind,
                r.status,
                str(r.rounds),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)),
                r.params.get("planner", ""),
                r.params.get("screen", r.params.get("task", "")),
                headline({k: v for k, v in r.metrics.items() if not k.startswith("final_")}, 2),
            )
        console.print(t)
        return 0
    summary, rounds = tracking.round_metrics(uri, ns.campaign)
    console.print(
        f"[bold]{summary.name}[/bold] ({summary.kind}, {summary.status}, "
        f"{summary.rounds} rounds recorded)"
    )
    console.print("  " + "  ".join(f"{k}={v}" for k, v in sorted(summary.params.items())))
    keys: list[str] = []
    for m in rounds.values():
        keys += [k for k in m if k not in keys]
    t = Table()
    t.add_column("round", justify="right")
    for k in keys:
        t.add_column(k, justify="right")
    for r, m in rounds.items():
        t.add_row(str(r + 1), *(f"{m[k]:.4g}" if k in m else "" for k in keys))
    console.print(t)
    return 0


def cmd_ui(ns: argparse.Namespace) -> int:
    import subprocess

    from perturbo import config as cfg

    uri = getattr(ns, "tracking_uri", None) or cfg.env_tracking_uri() or cfg.default_tracking_uri()
    if uri.startswith(("http://", "https://")):
        print(f"the campaigns are on a tracking server: open {uri} in a browser")
        return 0
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(ns.port),
    ]
    print(f"mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port {ns.port}")
    print(f"open http://127.0.0.1:{ns.port} (Ctrl-C stops it)")
    if ns.print_only:
        return 0
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


COMMANDS = {"run": cmd_run, "resume": cmd_resume, "show": cmd_show, "ui": cmd_ui}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``perturbo`` console script; returns the exit code."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return COMMANDS[ns.command](ns)
    except PerturboError as e:
        print(f"perturbo: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(
            f"perturbo: {e}" if isinstance(e, Interrupted) else "perturbo: interrupted",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
