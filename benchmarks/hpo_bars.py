"""The issue's bars (issue 20), read from the regret curves of ``benchmarks/hyperparameter.py``:
``bo`` against each peer (win/tie/loss and significance), its share of tasks where it is best,
never worse than random, NAS-Bench-201 within 1.5x of the best peer, and each bar applied to
every planner in turn, to tell a hard bar from a weak planner."""

from __future__ import annotations

from typing import Any

from hpo_stats import ALPHA, MIN_TEST_SEEDS, TIE, at, compare, medians, significant


def bars(curves: Any, tasks: list[str], planners: list[str], c: int) -> list[str]:
    meds = medians(curves, tasks, planners, c)
    if "bo" not in planners:
        return ["`bo` has no runs yet: no bars.", ""]
    peers = [p for p in planners if p != "bo"]
    lines = [
        f"## `bo` against each peer at {c} evaluations",
        "",
        f"Per task, on medians over seeds: win = `bo` lower by more than {TIE:g}, tie = within "
        f"{TIE:g}, loss = higher. Tasks where either has no runs are left out. Beside them, on the "
        f"distributions (seeds are not paired): the tasks where a two-sided Mann-Whitney U test "
        f"finds `bo`'s regrets significantly lower (sig. better) or higher (sig. worse) than the "
        f"peer's, p < {ALPHA:g}, out of the tasks where both have ≥ {MIN_TEST_SEEDS} seeds (tested).",
        "",
        "| peer | win | tie | loss | tasks | sig. better | sig. worse | tested | sig. worse on |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    sig_worse: dict[str, list[str]] = {}
    for q in peers:
        both = [t for t in tasks if "bo" in meds[t] and q in meds[t]]
        w = sum(meds[t]["bo"] < meds[t][q] - TIE for t in both)
        ti = sum(abs(meds[t]["bo"] - meds[t][q]) <= TIE for t in both)
        tested = [
            t for t in both if compare(at(curves, t, "bo", c), at(curves, t, q, c)) is not None
        ]
        sb = [t for t in tested if significant(curves, t, q, c) < 0]
        sig_worse[q] = [t for t in tested if significant(curves, t, q, c) > 0]
        lines.append(
            f"| {q} | {w} | {ti} | {len(both) - w - ti} | {len(both)} | {len(sb)} | "
            f"{len(sig_worse[q])} | {len(tested)} | {', '.join(sig_worse[q]) or '–'} |"
        )
    ext = [q for q in peers if q != "random"]
    full = [t for t in tasks if "bo" in meds[t] and any(q in meds[t] for q in ext)]
    ok = [t for t in full if all(meds[t]["bo"] <= meds[t][q] + TIE for q in ext if q in meds[t])]
    gaps = {q: sum(q not in meds[t] for t in full) for q in ext}
    share = len(ok) / max(1, len(full))
    worse = [
        t
        for t in tasks
        if "bo" in meds[t] and "random" in meds[t] and meds[t]["bo"] > meds[t]["random"] + TIE
    ]
    nb = [t for t in tasks if t.startswith("nb201-") and "bo" in meds[t]]
    nb_rows = []
    for t in nb:
        best = min((meds[t][q], q) for q in peers if q in meds[t] and q != "random")
        nb_rows.append((t, meds[t]["bo"], best, meds[t]["bo"] <= 1.5 * best[0] + TIE))
    verdict = lambda b: "**met**" if b else "**NOT met**"  # noqa: E731
    lines += [
        "",
        "### The issue's bars",
        "",
        f"- `bo`'s median ≤ every peer's (random aside) on {len(ok)}/{len(full)} tasks "
        f"({share:.0%}; bar ≥ 70%): {verdict(share >= 0.7 and bool(full))}. Against the peers "
        "that have runs on the task"
        + (
            " (missing: " + ", ".join(f"{q} on {n}" for q, n in gaps.items() if n) + " tasks)."
            if any(gaps.values())
            else "."
        )
        + (f" Not on: {', '.join(t for t in full if t not in ok)}." if len(ok) < len(full) else ""),
        "  Beside it, on the distributions: `bo` is significantly worse (Mann-Whitney U, p < "
        f"{ALPHA:g}) than at least one peer on "
        f"{len(sw := sorted({t for q in ext for t in sig_worse[q]}))}/{len(full)} tasks"
        + (f" ({', '.join(sw)})" if sw else "")
        + "; untested pairs (a side with fewer than "
        f"{MIN_TEST_SEEDS} seeds) count as no difference.",
        *_bound(curves, meds, full, ext, c),
        *_every_planner(meds, tasks, ["bo", *ext]),
        f"- never worse than random: {verdict(not worse)}"
        + (f" (worse on {', '.join(worse)})." if worse else "."),
        "- NAS-Bench-201 within 1.5× of the best peer: "
        + (
            verdict(all(r[3] for r in nb_rows))
            + " — "
            + "; ".join(f"{t}: bo {b:.3g} vs {q} {m:.3g}" for t, b, (m, q), _ in nb_rows)
            if nb_rows
            else "no runs."
        ),
        *_nb201_every_planner(meds, nb, ["bo", *ext]),
        "",
    ]
    return lines


def _nb201_every_planner(meds: Any, nb: list[str], judged: list[str]) -> list[str]:
    """The NAS-Bench-201 bar applied to every planner: its worst ratio, over the NB201 tasks,
    of its median to the best median of the other judged planners (random aside)."""
    out = []
    for x in judged:
        ratios = []
        for t in nb:
            others = [meds[t][q] for q in judged if q != x and q in meds[t]]
            if x in meds[t] and others:
                best = min(others)
                ratios.append(1.0 if meds[t][x] <= best + TIE else meds[t][x] / best)
        if ratios and len(ratios) == len(nb):
            out.append(f"{x} {max(ratios):.2f}×")
    if not out:
        return []
    return [
        "  The same test for each planner (its worst ratio over the NB201 tasks to the best "
        "median of the others, random aside; ≤ 1.5× on all of them meets it): "
        + ", ".join(out)
        + "."
    ]


def _bound(curves: Any, meds: Any, full: list[str], ext: list[str], c: int) -> list[str]:
    """The bar's share against only the peers' cells that hold the most seeds: more seeds in
    the other cells can only lower it (a task counts when ``bo`` beats every peer on it)."""
    n = {(t, q): len(at(curves, t, q, c)) for t in full for q in ext}
    most = max(n.values(), default=0)
    if all(v == most for v in n.values() if v):
        return []
    ok = [t for t in full if all(meds[t]["bo"] <= meds[t][q] + TIE for q in ext if n[t, q] == most)]
    return [
        f"  Against only the peer cells with {most} seeds: `bo`'s median ≤ each of theirs on "
        f"{len(ok)}/{len(full)} tasks ({len(ok) / len(full):.0%}), an upper bound on the share "
        "above"
        + (
            ": the bar cannot be met whatever more seeds in the other cells show."
            if len(ok) / len(full) < 0.7
            else "."
        )
    ]


def _every_planner(meds: Any, tasks: list[str], judged: list[str]) -> list[str]:
    """The first bar applied to every planner in turn: the share of tasks where its median is
    <= every other judged planner's (random aside). How far the best of them is from 70% says
    how far the bar is from what any of these planners does on these tasks."""
    out = []
    for x in judged:
        on = [t for t in tasks if x in meds[t] and any(q in meds[t] for q in judged if q != x)]
        ok = [t for t in on if all(meds[t][x] <= meds[t][q] + TIE for q in judged if q in meds[t])]
        if on:
            out.append(f"{x} {len(ok)}/{len(on)} ({len(ok) / len(on):.0%})")
    if not out:
        return []
    return [
        "  The same test for each planner against all the others (random aside): "
        + ", ".join(out)
        + ". A task can count for several planners (tied medians)."
    ]
