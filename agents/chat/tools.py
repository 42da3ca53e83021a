"""The chat's tools: plain typed functions over the store's read side and the launcher.

One set of tools serves the terminal chat, the web chat and the MCP server. Each returns a
:class:`ToolResult` whose ``text`` carries the facts (numbers rendered by template from the
store) and ``data`` the same as JSON. Tools that change something (launch, resume, stop,
pin) only *propose*: they return a :class:`~perturbo.agents.chat.actions.PendingAction` that
a person confirms outside the model (see :mod:`perturbo.agents.chat.actions`).

:meth:`ChatTools.call` is the one entry: it validates the arguments against the function's
signature and turns every error (unknown campaign, bad arguments, unreachable store) into a
``ToolResult(ok=False)`` whose text says what to fix, so the loop never crashes.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError, create_model, validate_call

from perturbo.agents.chat.actions import Launcher
from perturbo.agents.chat.catalog import KindCatalog, spec_of
from perturbo.agents.chat.facts import resolve
from perturbo.agents.chat.lab_tools import LAB_ACTIONS, LAB_READS, LabPort, LabTools
from perturbo.agents.chat.read_tools import ReadTools
from perturbo.agents.chat.result import ToolResult
from perturbo.types import PerturboError

__all__ = ["ACTION_TOOLS", "READ_TOOLS", "ChatTools", "KindSettings", "ToolResult", "kind_settings"]

READ_TOOLS = (
    "list_campaigns", "summarize_campaign", "explain_round", "compare_campaigns",
    "rank_campaigns", "propose_experiments", "show_plot",
)  # fmt: skip
ACTION_TOOLS = ("launch_campaign", "resume_campaign", "stop_campaign", "pin_experiments")


KindSettings = Callable[[Any, Mapping[str, Any]], tuple[Any, Mapping[str, Any]]]
"""(kind spec, setting values) -> (run options, the kind's config): what ``perturbo run``
makes of them, refusing a bad setting by name (:func:`perturbo.launch.settings`)."""


def kind_settings(spec: Any, values: Mapping[str, Any]) -> tuple[Any, Mapping[str, Any]]:
    """The default :data:`KindSettings`: the settings validated as ``perturbo run`` does
    (:func:`perturbo.config.load`); a front end passes the composition root's own."""
    from perturbo import config as cfg

    options, kind_cfg = cfg.load(spec.config_model, values, None, kind=spec.name)
    return options, kind_cfg.model_dump()


class ChatTools(ReadTools, LabTools):
    """The tools over ``store`` (a :class:`~perturbo.protocols.StoreReader`) and ``launcher``
    (the background ``perturbo run|resume`` processes a confirmed action starts: the CLI, so
    the composition root). ``settings``: how a launch's settings are checked before it is
    proposed (the front end passes :func:`perturbo.launch.settings`; the chat never imports
    the composition root). ``kinds``: the kinds it knows (the front end passes
    :mod:`perturbo.kinds`; the agents never import the kind registry). ``lab``: the lab
    loop's ask/tell (:mod:`perturbo.chat.lab_port`; None: no lab tools)."""

    def __init__(
        self,
        store: Any,
        launcher: Launcher | None = None,
        plots_dir: str | Path | None = None,
        *,
        settings: KindSettings | None = None,
        kinds: KindCatalog,
        lab: LabPort | None = None,
    ) -> None:
        self.kinds = kinds
        self.lab = lab
        self._told: dict[str, str] = {}
        self.store = store
        self.launcher = launcher or Launcher(store.uri)
        self.plots_dir = Path(plots_dir) if plots_dir else self.launcher.workdir / "plots"
        self.settings = settings or kind_settings
        if lab is not None:
            self.launcher.handlers["tell"] = self.lab_confirm  # a confirmed tell records

    # ------------------------------------------------------------------ the one entry
    def names(self, allow_actions: bool = True) -> tuple[str, ...]:
        reads = READ_TOOLS + (LAB_READS if self.lab is not None else ())
        actions = ACTION_TOOLS + (LAB_ACTIONS if self.lab is not None else ())
        return reads + (actions if allow_actions else ())

    def function(self, name: str) -> Callable[..., ToolResult]:
        if name not in self.names():
            raise PerturboError(f"unknown tool {name!r}: use one of {', '.join(self.names())}")
        return getattr(self, name)  # type: ignore[no-any-return]

    def call(self, name: str, args: dict[str, Any] | None = None) -> ToolResult:
        """Run tool ``name`` with ``args``; every failure is a ``ToolResult(ok=False)``."""
        try:
            fn = self.function(name)
            if args is not None and not isinstance(args, dict):
                raise PerturboError(f"{name}: arguments must be a JSON object, got {args!r}")
            return validate_call(fn)(**(args or {}))  # type: ignore[no-any-return]
        except ValidationError as e:
            probs = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in e.errors()[:5]
            )
            return ToolResult(f"{name}: invalid arguments ({probs}); {self.usage(name)}", ok=False)
        except PerturboError as e:
            return ToolResult(str(e), ok=False)
        except Exception as e:  # a tool's own failure: said to the model, never a crash
            return ToolResult(f"{name} failed: {type(e).__name__}: {e}", ok=False)

    def usage(self, name: str) -> str:
        sig = inspect.signature(getattr(self, name))
        return f"usage: {name}({', '.join(str(p) for p in sig.parameters.values())})"

    def schemas(self, allow_actions: bool = True) -> list[dict[str, Any]]:
        """OpenAI-style function schemas of the tools (``bind_tools``, the grammar router)."""
        out = []
        for name in self.names(allow_actions):
            fn = getattr(self, name)
            fields: dict[str, Any] = {}
            for p in inspect.signature(fn).parameters.values():
                ann = p.annotation if p.annotation is not inspect.Parameter.empty else Any
                fields[p.name] = (ann, ... if p.default is inspect.Parameter.empty else p.default)
            params = create_model(f"{name}_args", **fields).model_json_schema()
            params.pop("title", None)
            doc = inspect.getdoc(fn) or name
            out.append({"name": name, "description": doc.split("\n\n")[0], "parameters": params})
        return out

    # ------------------------------------------------------------------ action tools
    def launch_campaign(
        self,
        kind: str | None = None,
        settings: dict[str, Any] | None = None,
        name: str | None = None,
        like: str | None = None,
    ) -> ToolResult:
        """Propose a new campaign of ``kind`` with ``settings`` (flag names with underscores,
        e.g. {"planner": "random", "rounds": 2}); ``name``: the campaign's name (also taken
        from ``settings``; default: the kind's name with a time stamp); ``like``: start from
        that campaign's settings (a rerun with changes); it starts only after the user confirms."""
        base: dict[str, Any] = {}
        if like:
            base = self._settings_of(resolve(self.store, like))
            kind = kind or str(base.pop("kind", ""))
        spec = spec_of(self.kinds, kind or "")
        if spec is None:
            raise PerturboError(
                f"unknown kind {kind!r}: use one of {', '.join(self.kinds.names())}"
            )
        given = {str(k).replace("-", "_"): v for k, v in dict(settings or {}).items()}
        if name is None and given.get("name") not in (None, ""):
            name = str(given["name"])  # `/launch ... name=X`, or a model's settings: the name
        values = {**base, **given}
        for bad in ("tracking_uri", "address", "local", "config_file", "name"):
            values.pop(bad, None)
        if name is not None:
            from perturbo.names import check_name

            check_name(name)  # a name that cannot be a campaign's: refused here, said why
        values = self.launcher.check_settings(values)  # no user code, no file outside
        _, config = self.settings(spec, values)  # raises PerturboError naming a bad setting
        from perturbo.names import auto_name

        name = name or auto_name(spec.default_name(config))
        if any(c.name == name for c in self.store.list_campaigns()):
            raise PerturboError(f"a campaign named {name!r} exists: pick another name or resume it")
        toml = self.launcher.stage_settings(name, values)  # written only on confirm
        argv = [
            "run",
            spec.name,
            "--config",
            str(toml),
            "--name",
            name,
            *self.launcher.run_options(),
        ]
        shown = ", ".join(f"{k}={v}" for k, v in values.items()) or "the defaults"
        return self._pending(
            "launch", name, argv, f"launch a {spec.name} campaign {name!r} with {shown}"
        )

    def resume_campaign(
        self, name: str, rounds: int | None = None, trials: int | None = None
    ) -> ToolResult:
        """Propose to continue a campaign, optionally extending its budget (total ``rounds`` or
        ``trials``); it runs only after the user confirms."""
        name = resolve(self.store, name)
        argv = ["resume", name, *self.launcher.run_options()]
        extra = self._budget_flags(name, {"rounds": rounds, "trials": trials})
        what = f"resume {name!r}" + (f" to {' '.join(extra[1::2])} {extra[0][2:]}" if extra else "")
        return self._pending("resume", name, argv + extra, what)

    def stop_campaign(self, name: str) -> ToolResult:
        """Propose to stop a campaign this chat started (SIGINT: it records KILLED, resumable)."""
        job = self.launcher.jobs.get(name) or next(
            (j for n, j in self.launcher.jobs.items() if name.lower() in n.lower()), None
        )
        if job is None or job.process.poll() is not None:
            running = ", ".join(j.campaign for j in self.launcher.running()) or "none"
            raise PerturboError(
                f"campaign {name!r} is not running from this chat (running: {running}); stop others "
                "with Ctrl-C in their terminal, or `ray job stop` on a cluster"
            )
        return self._pending(
            "stop", job.campaign, [], f"stop {job.campaign!r} (pid {job.process.pid})"
        )

    def pin_experiments(self, name: str, experiments: list[dict[str, Any]]) -> ToolResult:
        """Propose to run experiments the user named in a campaign, first, recorded as chosen by
        the user (planner=user); e.g. [{"gene": "IFNG"}] or [{"x0": 0.3, "x1": 2.0}]."""
        name = resolve(self.store, name)
        if not experiments:
            raise PerturboError(
                'pin_experiments: name at least one experiment, e.g. [{"gene": "IFNG"}]'
            )
        summary = self.store.summary(name)
        spec = spec_of(self.kinds, summary.kind)
        extra: list[str] = []
        for key in getattr(spec, "budget_keys", ()) or ():
            planned = summary.params.get(key)
            if planned is None:
                continue
            more = 1 if key == "rounds" else len(experiments)
            extra = [f"--{key}", str(int(planned) + more)]  # room for the pinned ones
            break
        pins = [x for e in experiments for x in ("--pin", json.dumps(e, separators=(",", ":")))]
        argv = ["resume", name, *self.launcher.run_options(), *extra, *pins]
        shown = "; ".join(json.dumps(e) for e in experiments)
        return self._pending(
            "pin", name, argv, f"run {shown} first in {name!r} (recorded planner=user)"
        )

    # ------------------------------------------------------------------ helpers
    def _settings_of(self, name: str) -> dict[str, Any]:
        """A recorded campaign's settings that a new one may reuse (its config, without what
        names or places that campaign, and without defaults left unset)."""
        config = dict(self.store.config(name))
        spec = spec_of(self.kinds, str(config.get("kind", "")))
        fields = dict(getattr(getattr(spec, "config_model", None), "model_fields", {}) or {})
        drop = {"name", "tracking_uri", "address", "local", "config_file", "resume"}
        keep = {
            "kind",
            "planner",
            "seed",
            "batch",
            "rounds",
            "trials",
            getattr(spec, "subject", ""),
        }
        return {
            k: v
            for k, v in config.items()
            if k in fields | {"kind": None}
            and k not in drop
            and v is not None
            and (k in keep or v != getattr(fields.get(k), "default", None))
        }

    def _pending(self, kind: Any, name: str, argv: list[str], what: str) -> ToolResult:
        action = self.launcher.propose(kind, name, argv, what)
        text = (
            f"Ready to {what}: `{action.command()}`. Nothing runs until the user confirms "
            f"(confirmation token {action.token})."
        )
        data = {
            "token": action.token,
            "action": kind,
            "campaign": name,
            "command": action.command(),
        }
        return ToolResult(text, data, pending=action)

    def _budget_flags(self, name: str, wanted: dict[str, int | None]) -> list[str]:
        summary = self.store.summary(name)
        keys = tuple(getattr(spec_of(self.kinds, summary.kind), "budget_keys", ()) or ())
        out: list[str] = []
        for key, value in wanted.items():
            if value is None:
                continue
            if key not in keys:
                raise PerturboError(
                    f"{name} ({summary.kind}) cannot be extended by {key}: its budget is "
                    f"{', '.join(keys) or 'fixed'}"
                )
            planned = int(summary.params.get(key, 0) or 0)
            if int(value) <= planned:
                raise PerturboError(
                    f"{key}={value}: {name} already has a budget of {planned} {key}; give a larger total"
                )
            out += [f"--{key}", str(int(value))]
        return out
