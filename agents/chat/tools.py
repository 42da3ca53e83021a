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
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError, create_model, validate_call

from perturbo.agents.chat.actions import Launcher, PendingAction
from perturbo.agents.chat.facts import campaign_facts, fmt, kind_spec, resolve
from perturbo.types import PerturboError

__all__ = ["ACTION_TOOLS", "READ_TOOLS", "ChatTools", "ToolResult"]

READ_TOOLS = (
    "list_campaigns", "summarize_campaign", "explain_round", "compare_campaigns",
    "propose_experiments", "show_plot",
)  # fmt: skip
ACTION_TOOLS = ("launch_campaign", "resume_campaign", "stop_campaign", "pin_experiments")


@dataclass(frozen=True)
class ToolResult:
    """What a tool returns: ``text`` for people and models, ``data`` as JSON, an ``image``
    path (a plot), a ``pending`` action awaiting confirmation; ``ok=False`` for an error."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    image: str | None = None
    pending: PendingAction | None = None

    def for_model(self) -> str:
        return self.text if self.ok else f"ERROR: {self.text}"


class ChatTools:
    """The tools over ``store`` (a :class:`~perturbo.protocols.StoreReader`) and ``launcher``."""

    def __init__(
        self, store: Any, launcher: Launcher | None = None, plots_dir: str | Path | None = None
    ) -> None:
        self.store = store
        self.launcher = launcher or Launcher(store.uri)
        self.plots_dir = Path(plots_dir) if plots_dir else self.launcher.workdir / "plots"

    # ------------------------------------------------------------------ the one entry
    def names(self, allow_actions: bool = True) -> tuple[str, ...]:
        return READ_TOOLS + (ACTION_TOOLS if allow_actions else ())

    def function(self, name: str) -> Callable[..., ToolResult]:
        if name not in READ_TOOLS + ACTION_TOOLS:
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

    # ------------------------------------------------------------------ read tools
    def list_campaigns(self, kind: str | None = None) -> ToolResult:
        """List the campaigns in the store (newest first) with status, kind, planner, progress
        and best result; ``kind`` keeps one kind."""
        rows = self.store.list_campaigns(kind)
        facts = [campaign_facts(self.store, c.name) for c in rows]
        if not facts:
            where = "has no campaigns yet" if self.store.exists() else "does not exist yet"
            text = (
                f"The store {self.store.uri} {where}" + (f" of kind {kind}" if kind else "") + "."
            )
        else:
            kinds_count = Counter(f.summary.kind for f in facts)
            by_kind = ", ".join(f"{n} {k}" for k, n in sorted(kinds_count.items()))
            text = f"{len(facts)} campaigns in {self.store.uri} ({by_kind}):\n" + "\n".join(
                f.list_line() for f in facts
            )
        jobs = self.launcher.jobs.values()
        if jobs:
            text += "\nStarted from this chat: " + "; ".join(
                f"{j.campaign} ({j.state()})" for j in jobs
            )
        return ToolResult(text, {"campaigns": [f.data() for f in facts]})

    def summarize_campaign(self, name: str) -> ToolResult:
        """Summarise one campaign: what was tried, what worked, the best experiments, and how
        its planners compare."""
        f = campaign_facts(self.store, resolve(self.store, name))
        return ToolResult(f.text(), f.data())

    def explain_round(self, name: str, round: int | None = None) -> ToolResult:
        """Explain why a round's experiments were chosen (round numbers start at 1; default
        the last round): the planners' logged rationale, the agents' traces, the results."""
        name = resolve(self.store, name)
        history = list(self.store.history(name))
        rounds = sorted({o.spec.round for o in history})
        if not rounds:
            return ToolResult(f"{name} has no recorded rounds yet.", {"name": name})
        r0 = rounds[-1] if round is None else int(round) - 1
        if r0 not in rounds:
            raise PerturboError(
                f"{name} has no round {round}: its recorded rounds are 1 to {rounds[-1] + 1}"
            )
        obs = [o for o in history if o.spec.round == r0]
        notes = Counter((o.spec.planner or "?", o.spec.note or "no rationale logged") for o in obs)
        lines = [f"Round {r0 + 1} of {name}: {len(obs)} experiments."]
        lines += [f"- {n} chosen by {p}: {note}" for (p, note), n in notes.most_common(6)]
        traces = [t for t in self.store.traces(name) if int(t.get("round", -1)) == r0]
        for t in traces:
            src = ", ".join(f"{v} by {k}" for k, v in dict(t.get("by_source", {})).items())
            lines.append(
                f"- agent trace ({t.get('planner', 'agent')}): {len(t.get('calls', []))} LLM calls, "
                f"{t.get('repairs', 0)} repairs, validity {fmt(float(t.get('validity', 0.0)))}"
                + (f", filled {src}" if src else "")
            )
            if t.get("rationale"):
                lines.append(f"  rationale: {str(t['rationale'])[:400]}")
        metrics = self.store.round_metrics(name).get(r0, {})
        shown = {k: v for k, v in metrics.items() if not k.endswith("_s")}
        if shown:
            lines.append(
                "Round metrics: " + ", ".join(f"{k} = {fmt(v)}" for k, v in shown.items()) + "."
            )
        picked = ", ".join(",".join(str(v) for v in o.spec.params.values()) for o in obs[:16])
        lines.append(f"Chosen: {picked}{' ...' if len(obs) > 16 else ''}.")
        data = {
            "name": name, "round": r0 + 1, "n": len(obs), "metrics": metrics,
            "notes": [{"planner": p, "note": n, "count": c} for (p, n), c in notes.items()],
            "traces": traces, "params": [dict(o.spec.params) for o in obs],
        }  # fmt: skip
        return ToolResult("\n".join(lines), data)

    def compare_campaigns(self, first: str, second: str) -> ToolResult:
        """Compare two campaigns side by side: kind, planner, experiments, best result."""
        a = campaign_facts(self.store, resolve(self.store, first))
        b = campaign_facts(self.store, resolve(self.store, second))
        lines = [
            f"{f.name}: {f.summary.kind}, planner {f.planner or '?'}, {f.n_experiments} experiments, "
            f"{f.budget}; {f.result_line()}"
            for f in (a, b)
        ]
        verdict = ""
        if a.best and b.best and a.objective == b.objective and a.direction == b.direction:
            sign = -1 if a.direction == "min" else 1
            win = a if sign * a.best[0].value >= sign * b.best[0].value else b
            verdict = f"{win.name} has the better {a.objective} ({fmt(win.best[0].value)})."
        elif a.hit_metric and b.hit_metric and a.subject == b.subject:
            ra, rb = len(a.hits) / max(1, a.n_experiments), len(b.hits) / max(1, b.n_experiments)
            win = a if ra >= rb else b
            verdict = f"{win.name} found more hits per experiment ({len(win.hits)} in {win.n_experiments})."
        else:
            verdict = "They measure different things, so neither is better on one scale."
        return ToolResult(
            "\n".join([*lines, verdict]),
            {"first": a.data(), "second": b.data(), "verdict": verdict},
        )

    def propose_experiments(self, name: str, n: int = 4) -> ToolResult:
        """Propose the next ``n`` experiments for a campaign: its own planner, told everything
        recorded, asked for more (nothing runs; pin them to run them)."""
        from perturbo import kinds
        from perturbo.kindspec import BuildContext

        name = resolve(self.store, name)
        if not 1 <= int(n) <= 64:
            raise PerturboError(f"n={n}: propose between 1 and 64 experiments")
        config = self.store.config(name)
        spec = kinds.get(str(config.get("kind", "")))
        parts = spec.build(config, BuildContext(store=self.store, campaign=name))
        history = list(self.store.history(name))
        parts.planner.tell(history)
        specs = parts.planner.ask(int(n), [])
        rows = []
        for s in specs:
            try:
                params = parts.space.validate(s.params)
            except Exception:  # an invalid proposal is not worth showing
                continue
            rows.append({"params": params, "planner": s.planner, "note": s.note})
        text = (
            f"{len(rows)} proposals for {name} from its planner ({config.get('planner', '?')}):\n"
            + "\n".join(
                f"- {json.dumps(r['params'], default=str)}"
                + (f" ({r['note']})" if r["note"] else "")
                for r in rows
            )
        )
        return ToolResult(
            text + "\nSay which to run and I will pin them.", {"name": name, "proposals": rows}
        )

    def show_plot(self, name: str, plot: str | None = None) -> ToolResult:
        """Show a campaign's plot (a PNG from the store): ``plot`` names one (default the first)."""
        name = resolve(self.store, name)
        pngs = [p for p in self.store.artifacts(name, "plots") if p.endswith(".png")]
        if not pngs:
            raise PerturboError(f"{name} has no plots yet (they are logged when a campaign ends)")
        pick = pngs[0]
        if plot:
            hits = [p for p in pngs if plot.lower() in p.lower()]
            if not hits:
                raise PerturboError(f"{name} has no plot {plot!r}: it has {', '.join(pngs)}")
            pick = hits[0]
        dst = self.plots_dir / name
        path = self.store.download(name, pick, dst)
        others = [p for p in pngs if p != pick]
        text = f"Plot {pick} of {name}: {path}" + (
            f" (also: {', '.join(others)})" if others else ""
        )
        return ToolResult(
            text, {"name": name, "plot": pick, "path": str(path), "plots": pngs}, image=str(path)
        )

    # ------------------------------------------------------------------ action tools
    def launch_campaign(
        self, kind: str, settings: dict[str, Any] | None = None, name: str | None = None
    ) -> ToolResult:
        """Propose a new campaign of ``kind`` with ``settings`` (flag names with underscores,
        e.g. {"planner": "random", "rounds": 2}); it starts only after the user confirms."""
        from perturbo.launch import settings as merge

        spec = kind_spec(kind)
        if spec is None:
            from perturbo import kinds

            raise PerturboError(f"unknown kind {kind!r}: use one of {', '.join(kinds.names())}")
        values = {str(k).replace("-", "_"): v for k, v in dict(settings or {}).items()}
        for bad in ("tracking_uri", "address", "local", "config_file", "name"):
            values.pop(bad, None)
        _, config = merge(spec, values)  # raises PerturboError naming a bad setting
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = name or f"{spec.default_name(config)}-{stamp}"
        if any(c.name == name for c in self.store.list_campaigns()):
            raise PerturboError(f"a campaign named {name!r} exists: pick another name or resume it")
        toml = self.launcher.write_settings(name, values)
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
        spec = kind_spec(summary.kind)
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
        keys = tuple(getattr(kind_spec(summary.kind), "budget_keys", ()) or ())
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
