"""``perturbo``: the command line, and the one composition root.

``perturbo run KIND`` has one sub-command per registered kind (:mod:`perturbo.kinds`), each
with the flags its :class:`~perturbo.kindspec.KindSpec` adds; :mod:`perturbo.launch` composes
and runs the campaign. Heavy libraries (Ray, MLflow, BoTorch, LangChain) are imported only
when a command needs them, so ``perturbo --help`` is fast.

Errors a user can fix (:class:`~perturbo.types.PerturboError`) print one line on stderr and
exit 2; Ctrl-C keeps every recorded round, marks the campaign KILLED and exits 130:
``perturbo resume NAME`` continues it. A campaign that finished but whose agent planner fell
back (no usable LLM answer) ends with a warning line and exit 3 (:mod:`perturbo.fallback`).
Warnings print once each, as one ``perturbo: warning:`` line (:mod:`perturbo.cli_warnings`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from perturbo.show import RESUME_EPILOG
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kindspec import KindSpec

PLUGGED: dict[str, str] = {
    "show": "perturbo.show:add_parser",
    "ui": "perturbo.ui:add_parser",
    "chat": "perturbo.chat.commands:add_chat_parser",
    "mcp": "perturbo.chat.commands:add_mcp_parser",
    "status": "perturbo.status:add_status_parser",
    "stop": "perturbo.status:add_stop_parser",
    "ask": "perturbo.cli_lab:add_ask_parser",
    "tell": "perturbo.cli_lab:add_tell_parser",
    "export": "perturbo.export:add_parser",
}
"""Commands that live in their own modules: ``name -> "module:function"``; the function adds
the sub-parser to ``sub`` (light: argparse only) and returns the command's handler
``(Namespace) -> exit code``."""

EPILOG_TAIL = """\
  perturbo show                                         # list the campaigns in the store
  perturbo show CAMPAIGN                                # its settings, best result and rounds
  perturbo resume CAMPAIGN --rounds 8                   # continue (or extend) a campaign
  perturbo status                                       # what runs now, and how far it is
  perturbo stop CAMPAIGN                                # stop it cleanly (resumable)
  perturbo export CAMPAIGN -o CAMPAIGN.csv              # every experiment, one row each
  perturbo ui                                           # browse everything in the MLflow UI

Results go to MLflow: by default a sqlite file ./mlflow.db (--tracking-uri or
MLFLOW_TRACKING_URI for another store or a server). Ray starts locally on 127.0.0.1
unless --address (or RAY_ADDRESS) names a cluster; --local runs without Ray.

exit status: 0 done; 2 an error (one line says what to fix); 3 done, but the agent planner
fell back to its fallback planner in some rounds (a warning line says how many and why);
130 interrupted, 143 terminated (both resumable).
"""


def _epilog(specs: Sequence[KindSpec]) -> str:
    """Examples: the first two of each kind's, then the commands every kind shares."""
    lines = [ln for spec in specs for ln in spec.examples.splitlines()[:2] if ln.strip()]
    return "examples:\n" + "".join(f"  {ln.strip()}\n" for ln in lines) + EPILOG_TAIL


RUN_EPILOG = """\
settings come from flags, then a --config TOML file (flat keys named like the flags, with
underscores: rounds = 5, tracking_uri = "sqlite:///runs.db"), then the environment
(MLFLOW_TRACKING_URI, RAY_ADDRESS), then the defaults shown.
"""


# --------------------------------------------------------------------------- parser


def _add_run_options(p: argparse.ArgumentParser, resume: bool = False) -> None:
    """The run options' flags, generated from :class:`~perturbo.config.RunOptions` (a resume
    keeps its campaign's name and config), and the two that are no run option: ``--config``
    and ``--pin``."""
    from perturbo.config import RUN_GROUPS, RunOptions
    from perturbo.flags import SKIP, add_flags

    s = argparse.SUPPRESS
    skip = SKIP | {"name"} if resume else SKIP
    g = add_flags(p, RunOptions, RUN_GROUPS, skip=skip)[""]
    if not resume:
        g.add_argument(
            "--config",
            dest="config_file",
            default=s,
            metavar="FILE.toml",
            help="read settings from a TOML file; flags given here override it",
        )
    g.add_argument(
        "--pin",
        action="append",
        default=s,
        metavar="JSON",
        help="run this experiment first, recorded as chosen by you (repeatable), e.g. "
        '--pin \'{"gene": "IFNG"}\' or --pin \'{"x": 0.3}\'',
    )


def _specs() -> tuple[list[KindSpec], dict[str, str]]:
    """The registered kinds that import here, and why the others do not."""
    from perturbo import kinds

    specs: list[KindSpec] = []
    missing: dict[str, str] = {}
    for kind in kinds.names():
        try:
            specs.append(kinds.get(kind))
        except PerturboError as e:
            missing[kind] = str(e)
    return specs, missing


def build_parser() -> argparse.ArgumentParser:
    specs, missing = _specs()
    epilog = _epilog(specs)
    parser = argparse.ArgumentParser(
        prog="perturbo",
        description="Closed-loop experiment design: planners (BO, Optuna, evolution, LLM agents) "
        "propose perturbation experiments, Ray actors run them, MLflow records them.",
        epilog=epilog,
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
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kind_parsers = run.add_subparsers(dest="kind", metavar="KIND")
    kind_parsers.required = True
    for kind, why in missing.items():
        kp = kind_parsers.add_parser(kind, help="(not available in this install)")
        kp.set_defaults(_unavailable=why)
    for spec in specs:
        kind = spec.name
        kp = kind_parsers.add_parser(
            kind,
            help=spec.description,
            epilog=(f"examples:\n{spec.examples}\n" if spec.examples else "") + RUN_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            description=f"Run {'an' if kind[:1] in 'aeiou' else 'a'} {kind} campaign: {spec.description}.",
        )
        spec.add_arguments(kp)
        _add_run_options(kp)

    res = sub.add_parser(
        "resume",
        help="continue a campaign from what MLflow recorded",
        description="Rebuild a campaign's history and config from MLflow and "
        "continue it: nothing recorded runs again, nothing is lost.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=RESUME_EPILOG,
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
        help="total trials, to extend a campaign budgeted in trials (default: as configured)",
    )
    _add_run_options(res, resume=True)

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}
    for command, path in PLUGGED.items():
        module, _, attr = path.partition(":")
        handlers[command] = getattr(importlib.import_module(module), attr)(sub)
    parser.set_defaults(_plugged=handlers)
    return parser


# --------------------------------------------------------------------------- commands


def cmd_run(ns: argparse.Namespace) -> int:
    from perturbo import kinds
    from perturbo.launch import launch, settings

    if getattr(ns, "_unavailable", None):
        raise PerturboError(f"`perturbo run {ns.kind}`: {ns._unavailable}")
    spec = kinds.get(ns.kind)
    values = run_values(ns)
    pinned = _pinned(values.pop("pin", None))
    options, config = settings(spec, values, getattr(ns, "config_file", None))
    if config.get("lab"):  # the experiments run in a lab: propose, record pending, exit
        from perturbo.cli_lab import start_lab

        return start_lab(spec, config, options, pinned)
    history = launch(spec, config, options, name=options.name, pinned=pinned)
    return _exit_status(history)


def run_values(ns: argparse.Namespace) -> dict[str, Any]:
    """The settings a ``perturbo run KIND`` command line gave, by field name (flags not given
    are absent: their defaults are SUPPRESSed, so a TOML file or the model's default holds)."""
    return {
        k: v
        for k, v in vars(ns).items()
        if k not in ("command", "kind", "config_file") and not k.startswith("_")
    }


def _exit_status(history: Sequence[Any]) -> int:
    """0, or :data:`~perturbo.fallback.EXIT_FELL_BACK` with a warning line where the
    campaign's agent planner fell back (see :mod:`perturbo.fallback`)."""
    from perturbo.fallback import EXIT_FELL_BACK, fallback_report

    report = fallback_report(history)
    if report is None:
        return 0
    print(f"perturbo: warning: {report.line()}", file=sys.stderr, flush=True)
    return EXIT_FELL_BACK


def _pinned(values: Sequence[str] | None) -> list[dict[str, object]]:
    import json

    out = []
    for text in values or ():
        try:
            params = json.loads(text)
        except json.JSONDecodeError as e:
            raise PerturboError(
                f"--pin {text!r} is not JSON ({e.msg}): pass e.g. --pin '{{\"x\": 0.3}}'"
            ) from None
        if not isinstance(params, dict):
            raise PerturboError(
                f"--pin {text!r} is not a JSON object of params: pass e.g. --pin '{{\"x\": 0.3}}'"
            )
        out.append(params)
    return out


def cmd_resume(ns: argparse.Namespace) -> int:
    from perturbo import config as cfg
    from perturbo import kinds
    from perturbo.launch import resume

    values = {k: v for k, v in vars(ns).items() if k in cfg.RUN_OPTION_KEYS}
    from perturbo.cli_lab import resume_lab

    lab = resume_lab(ns, values)
    if lab is not None:
        return lab
    values = _pool_as_started(ns.campaign, values)
    options = cfg.build_model(cfg.RunOptions, values).check()
    pinned = _pinned(getattr(ns, "pin", None))
    budget = {"rounds": ns.rounds, "trials": ns.trials}
    history = resume(ns.campaign, options, budget, pinned=pinned, spec_of=kinds.get)
    return _exit_status(history)


def _pool_as_started(campaign: str, values: dict[str, Any]) -> dict[str, Any]:
    """A resume runs where the campaign ran: one started with ``--local`` (its parent run's
    ``perturbo.meta.pool`` tag says ``local``) resumes in this process with its ``--workers``,
    unless this command line names a pool (``--local``, ``--address``, ``--workers``)."""
    if any(values.get(k) not in (None, False) for k in ("local", "address", "workers")):
        return values
    from perturbo import config as cfg
    from perturbo import tracking
    from perturbo.launch_checks import resolve_campaign

    uri = values.get("tracking_uri") or cfg.env_tracking_uri() or cfg.default_tracking_uri()
    try:
        store = tracking.open_store(uri)
        _, parent = store._open(resolve_campaign(store, campaign))  # noqa: SLF001
    except PerturboError:
        return values  # `resume` says what is wrong, in its own words
    tags = parent.data.tags
    if not str(tags.get("perturbo.meta.pool", "")).startswith("local"):
        return values
    out = {**values, "local": True}
    workers = str(tags.get("perturbo.meta.workers", ""))
    if workers.isdigit() and int(workers) > 0:
        out["workers"] = int(workers)
    print(
        f"campaign {campaign!r} ran with --local: resuming it in this process as it started "
        "(--address ADDR runs it on a Ray cluster)",
        file=sys.stderr,
        flush=True,
    )
    return out


COMMANDS = {"run": cmd_run, "resume": cmd_resume}


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``ray job stop``, ``kill``, a scheduler's preemption) ends a campaign as Ctrl-C
    does: what is recorded stays, the campaign is marked KILLED and resumes (exit 143)."""
    from perturbo.tracking.interrupts import sigterm_as_interrupt

    with sigterm_as_interrupt():
        yield


def _from_environment(message: str, ns: argparse.Namespace) -> str:
    """``message``, saying so where the tracking URI it names came from the environment: a
    user who never typed a URI looks for the variable, not for a flag."""
    from perturbo.config import env_tracking_uri
    from perturbo.tracking.uri import shown_uri

    uri = env_tracking_uri()
    named = uri is not None and any(  # messages name a URI as shown_uri shows it
        repr(u) in message or (len(u) > 8 and u in message) for u in (uri, shown_uri(uri))
    )
    if not named or getattr(ns, "tracking_uri", None):
        return message
    return (
        f"MLFLOW_TRACKING_URI={shown_uri(uri)} (set in the environment): {message}; or unset "
        "MLFLOW_TRACKING_URI to use ./mlflow.db"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``perturbo`` console script; returns the exit code."""
    from perturbo.cli_warnings import one_line_warnings

    parser = build_parser()
    ns = parser.parse_args(argv)
    from perturbo.config_env import prepare_process

    prepare_process()  # this process's MLflow client settings (entry points set them)
    import os

    from perturbo.tracking.interrupts import SIGINT_ENV, honour_sigint

    honour_sigint(bool(os.environ.get(SIGINT_ENV)))  # started by the chat, whose stop is SIGINT
    try:
        handler = COMMANDS.get(ns.command) or ns._plugged[ns.command]
        with one_line_warnings():
            if ns.command not in COMMANDS:
                return handler(ns)
            with _sigterm_as_interrupt():
                return handler(ns)
    except PerturboError as e:
        from perturbo.tracking.uri import shown_uri

        print(f"perturbo: error: {shown_uri(_from_environment(str(e), ns))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        from perturbo.launch import Interrupted

        print(
            f"perturbo: {e}" if isinstance(e, Interrupted) else "perturbo: interrupted",
            file=sys.stderr,
        )
        from perturbo.tracking.interrupts import exit_code

        return exit_code(e)  # 130 after Ctrl-C, 143 after SIGTERM


if __name__ == "__main__":
    sys.exit(main())
