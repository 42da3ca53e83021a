"""The comparison half of ``benchmarks/refactor_check.py`` (its ``--compare BEFORE AFTER``):
one markdown report, each figure before, after, the difference and whether it is equal."""

from __future__ import annotations

import statistics
from typing import Any

TIME_BAND = (0.25, 4.0)
"""A timing figure is within noise when after/before lies in this band (see NOISE)."""
CPU_BAND = (0.9, 1.1)
"""CPU seconds of the --help processes: the same tree twice moved them by 2% at most."""
NOISE = (
    "Figures fixed by the seeds (hit ratios, regrets, robust accuracies, pass counts, answers) "
    "must be IDENTICAL: every planner, optimiser and attack here is seeded and runs one thread, "
    "and the same tree run twice gives every one of them unchanged "
    "(`results/refactor_check_repeat.md`), so any difference is a behaviour change. Timing "
    "figures (seconds, ms per experiment) are wall clock on a 2-core box shared with other "
    "sessions' test runs (the load during each run is in the header): the same tree run twice "
    "at load 8-10, 10 minutes apart, moved them by x0.32 to x1.2 (`results/refactor_check_repeat.md`), so a "
    "timing figure counts as within noise when after/before is in [1/4, 4]; CPU seconds of "
    "the --help processes move far less (x0.98 and x1.02 in the repeat) and count as equal "
    "within [0.9, 1.1]."
)


def _ms(xs: list[float]) -> str:
    if not xs:
        return "-"
    sd = statistics.pstdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.fmean(xs):.4f} ± {sd:.4f} (n={len(xs)})"


def _timing(
    b: float, a: float, fmt: str = "{:.3f}", band: tuple[float, float] = TIME_BAND
) -> list[str]:
    r = a / b if b else float("nan")
    ok = band[0] <= r <= band[1]
    return [fmt.format(b), fmt.format(a), f"x{r:.2f}", "within noise" if ok else "**OUT OF BAND**"]


def _same(b: Any, a: Any) -> str:
    return "identical" if b == a else "**DIFFERENT**"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *["| " + " | ".join(map(str, r)) + " |" for r in rows], ""]  # fmt: skip


def _cmp_help(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    rows = []
    for k in (k for k in b if k.endswith("--help")):
        rows.append([f"{k}: wall", *_timing(b[k]["median"], a[k]["median"]),
                     f"{b[k]['q1']:.3f}-{b[k]['q3']:.3f} / {a[k]['q1']:.3f}-{a[k]['q3']:.3f}"])  # fmt: skip
        if "cpu_median" in b[k] and "cpu_median" in a[k]:
            rows.append(
                [f"{k}: CPU", *_timing(b[k]["cpu_median"], a[k]["cpu_median"], band=CPU_BAND), ""]
            )
    out = _table(["command (median of 10 processes, s)", "before", "after", "after/before",
                  "verdict", "wall quartiles before / after"], rows)  # fmt: skip
    for k in (k for k in b if k.startswith("flags")):
        gone, new = sorted(set(b[k]) - set(a.get(k, []))), sorted(set(a.get(k, [])) - set(b[k]))
        out.append(f"- `{k}`: {len(b[k])} before, {len(a.get(k, []))} after; "
                   f"gone: {gone or 'none'}; new: {new or 'none'}")  # fmt: skip
    return [*out, ""]


def _cmp_demo(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    last = [
        next((x for x in reversed(d["tail"].splitlines()) if "rounds ran" in x), "") for d in (b, a)
    ]
    rows = [["`perturbo run genetic` wall s", *_timing(b["wall_s"], a["wall_s"], "{:.1f}")]]
    return [*_table(["figure", "before", "after", "after/before", "verdict"], rows),
            f"Its summary line, before: `{last[0].strip()}`; after: `{last[1].strip()}` "
            f"({_same(last[0], last[1])}).", ""]  # fmt: skip


def _cmp_genetic(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    key = lambda r: (r["table"], r["planner"], r["screen"])  # noqa: E731
    rows, t_rows = [], []
    for k in dict.fromkeys(key(r) for r in b["runs"] + a["runs"]):
        rb = sorted((r for r in b["runs"] if key(r) == k), key=lambda r: r["seed"])
        ra = sorted((r for r in a["runs"] if key(r) == k), key=lambda r: r["seed"])
        hb, ha = [r["hit_ratio"] for r in rb], [r["hit_ratio"] for r in ra]
        curves = _same([(r["seed"], r["curve"]) for r in rb], [(r["seed"], r["curve"]) for r in ra])
        diff = statistics.fmean(ha) - statistics.fmean(hb) if hb and ha else float("nan")
        rows.append([k[0], f"`{k[1]}`", k[2], _ms(hb), _ms(ha), f"{diff:+.4f}", curves])
        pb = [x for r in rb for x in r["planner_s"]]
        pa = [x for r in ra for x in r["planner_s"]]
        if pb and pa and statistics.fmean(pb) > 0.02:
            t_rows.append(
                [k[0], f"`{k[1]}`", k[2], *_timing(statistics.fmean(pb), statistics.fmean(pa))]
            )
    return [*_table(["table", "planner", "screen", "hit ratio before", "after", "diff",
                     "every seed's 5-round curve"], rows),  # fmt: skip
            "Planner seconds per round (mean over rounds and seeds; rows above 0.02 s):", "",
            *_table(["table", "planner", "screen", "before", "after", "after/before", "verdict"], t_rows)]  # fmt: skip


def _cmp_hyper(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    key = lambda r: (r["task"], r["planner"])  # noqa: E731
    rows, t_rows = [], []
    for k in dict.fromkeys(key(r) for r in b["runs"] + a["runs"]):
        rb = sorted((r for r in b["runs"] if key(r) == k), key=lambda r: r["seed"])
        ra = sorted((r for r in a["runs"] if key(r) == k), key=lambda r: r["seed"])
        mb = statistics.median(r["regret"][-1] for r in rb)
        ma = statistics.median(r["regret"][-1] for r in ra)
        same = _same([r["values"] for r in rb], [r["values"] for r in ra])
        rows.append([*k, f"{mb:.4g}", f"{ma:.4g}", f"{ma - mb:+.3g}", same])
        cb = statistics.median(x[1] for r in rb for x in r["planner_s"])
        ca = statistics.median(x[1] for r in ra for x in r["planner_s"])
        if cb > 1e-3:
            t_rows.append([*k, *_timing(cb, ca, "{:.4f}")])
    return [*_table(["task", "planner", "median regret@25 before", "after", "diff",
                     "all 25 values of every seed"], rows),  # fmt: skip
            "Planner CPU seconds per proposal (median over asks and seeds):", "",
            *_table(["task", "planner", "before", "after", "after/before", "verdict"], t_rows)]  # fmt: skip


def _cmp_attack(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    rows = []
    for model, rb in b["strength"].items():
        for x, y in zip(rb, a["strength"].get(model, []), strict=False):
            name = x["attack"] if x["attack"] == y["attack"] else f"{x['attack']} / {y['attack']}"
            passes = (x.get("fwd", 0), x.get("bwd", 0)), (y.get("fwd", 0), y.get("bwd", 0))
            t = _timing(x["seconds"], y["seconds"], "{:.1f}") if x["seconds"] > 0.5 else ["-"] * 4
            rows.append([model, name[:70], f"{x['robust']:.4f}", f"{y['robust']:.4f}",
                         _same(x["robust"], y["robust"]), f"{sum(passes[0]):,}", f"{sum(passes[1]):,}",
                         _same(*passes), *t])  # fmt: skip
    return _table(["model", "attack", "robust before", "after", "", "fwd+bwd before", "after", "",
                   "s before", "s after", "after/before", "verdict"], rows)  # fmt: skip


def _cmp_chat(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    rows = []
    for x in b["summary"]:
        y = next(
            (y for y in a["summary"] if (y["model"], y["set"]) == (x["model"], x["set"])), None
        )
        if y is None:
            rows.append(
                [x["model"], x["set"], x["correct"], "missing", "**DIFFERENT**", "", "", "", ""]
            )
            continue
        rows.append([x["model"], x["set"], x["correct"], y["correct"], _same(x["correct"], y["correct"]),
                     *_timing(x["median_s"], y["median_s"], "{:.1f}")])  # fmt: skip
    out = _table(["model", "set", "correct before", "after", "", "median s before", "after",
                  "after/before", "verdict"], rows)  # fmt: skip
    for head, qb in b["questions"].items():
        qa = {q[0]: q for q in a["questions"].get(head, [])}
        for q in qb:
            if q[0] in qa and q[2] != qa[q[0]][2]:
                out.append(f"- {head} #{q[0]} *{q[1]}*: {q[2]} before, {qa[q[0]][2]} after")
    return [*out, ""]


def _cmp_overhead(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    def spread(d: dict[str, Any], i: int) -> str:
        rep = d.get("repeats_s", [])
        return f"{min(rep[i]):.2f}-{max(rep[i]):.2f}" if i < len(rep) else "-"

    def ms(r: dict[str, Any]) -> float:
        return 1000 * r["wall_s"] / r["trials"]

    rows = []
    for i, (x, y) in enumerate(zip(b["rows"], a["rows"], strict=False)):
        rows.append(
            [x["system"], x["how"], *_timing(ms(x), ms(y)), f"{spread(b, i)} / {spread(a, i)}"]
        )
    return _table(["system", "how", "ms/exp before", "after", "after/before", "verdict",
                   "repeats' wall s before / after"], rows)  # fmt: skip


def _load(d: dict[str, Any]) -> str:
    ends = [s["load_end"][0] for s in d["sections"].values() if "load_end" in s]
    return f"1-min load average {min(ends):.1f}-{max(ends):.1f} at the sections' ends"


def compare(
    b: dict[str, Any],
    a: dict[str, Any],
    title: str = "Benchmarks before and after the issue-18 redesign",
) -> str:
    lines = [
        f"# {title}",
        "",
        f"`python benchmarks/refactor_check.py` on each tree, then `--compare`. Before: commit "
        f"{b['commit']} ({b['started']}, {_load(b)}); after: commit "
        f"{a['commit']} ({a['started']}, {_load(a)}). Each tree ran with its own "
        "benchmarks/ scripts; raw runs in `results/refactor_check/`.",
        "",
        NOISE,
        "",
    ]
    names = {"help": ("CLI --help time and flags", _cmp_help),
             "demo": ("`make demo`'s command, once installed", _cmp_demo),
             "genetic": ("Genetic: equal-information and leave-one-screen-out rows (5 x 128; Scharenberg22 x 32)", _cmp_genetic),
             "hyperparameter": ("Hyperparameter: 2 tasks x 3 planners x 3 seeds x 25 evaluations, batch 4", _cmp_hyper),
             "attack": ("Attack quick run (--quick --sections strength --skip art)", _cmp_attack),
             "chat": ("Chat", _cmp_chat),
             "overhead": ("Overhead (200 no-op trials, 3 repeats, no Tune defaults row)", _cmp_overhead)}  # fmt: skip
    for name, (title, fn) in names.items():
        sb, sa = b["sections"].get(name), a["sections"].get(name)
        lines += [f"## {title}", ""]
        if not sb or not sa:
            lines += [f"Not run on {'before' if not sb else 'after'}.", ""]
            continue
        lines += [
            f"Section wall time: {sb['section_s']:.0f} s before, {sa['section_s']:.0f} s after.",
            "",
        ]
        lines += fn(sb, sa)
    text = "\n".join(lines)
    bad = text.count("**DIFFERENT**") + text.count("**OUT OF BAND**")
    verdict = "every figure equal" if not bad else f"{bad} figure(s) differ: see the marked rows"
    return text.replace(NOISE, f"**Verdict: {verdict}.**\n\n{NOISE}", 1)
