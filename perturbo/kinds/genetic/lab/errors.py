"""The one error type of the lab inputs (library, gene lists, hit rule, results), and the two
refusals of a results file that take more than a sentence: genes recorded already (the round
they were recorded in and, where the file gives another value, both values) and genes not in
the pending batch (in the library but not proposed, or not in the library at all). Genes are
named as the results file writes them (``Pth1r``, not ``PTH1R``)."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence

from perturbo.types import PerturboError

__all__ = ["LabInputError", "Recorded", "listed", "not_in_batch", "recorded_already"]


class LabInputError(PerturboError):
    """A lab input a user can fix: one line naming the input (file, flag) and the fix. The CLI
    prints it and exits 2; nothing is recorded."""


Recorded = tuple[int, float | None]
"""What a recorded gene holds: its round (1-based, as the user counts) and its score (``None``:
recorded failed, no result)."""

SHOWN = 8


def listed(names: Iterable[str], limit: int = SHOWN) -> str:
    """``A, B, ...`` of at most ``limit`` names, with the count where some are left out."""
    g = list(names)
    return ", ".join(g[:limit]) + (f", ... ({len(g)} in all)" if len(g) > limit else "")


def _rounds(numbers: Iterable[int]) -> str:
    r = [str(n) for n in sorted(set(numbers))]
    if len(r) == 1:
        return f"round {r[0]}"
    return f"rounds {', '.join(r[:-1])} and {r[-1]}"


def _same(recorded: float | None, now: float) -> bool:
    return recorded is not None and math.isclose(recorded, now, rel_tol=1e-9, abs_tol=1e-12)


def _pair(recorded: float | None, now: float) -> tuple[str, str]:
    if recorded is None:
        return "failed (no result)", f"{now:g}"
    a, b = f"{recorded:g}", f"{now:g}"
    return (a, b) if a != b else (repr(recorded), repr(now))


def recorded_already(
    name: str,
    genes: Sequence[str],
    written: Mapping[str, str],
    now: Mapping[str, float],
    earlier: Mapping[str, Recorded] | None,
) -> LabInputError:
    """The refusal of a results file ``name`` that tells ``genes`` (normalised; ``written``:
    as the file spells them, ``now``: the file's score of each, its replicates' mean) that were
    recorded in a round already (``earlier``: what each holds; ``None``: only their names are
    known). Where a value differs it names the gene with both values, and says how to correct
    a recorded round (``--correct``, one round's genes a file)."""
    shown = listed(written.get(g, g) for g in genes)
    known = {g: earlier[g] for g in genes if earlier is not None and g in earlier}
    if not known:
        return LabInputError(
            f"{name}: {len(genes)} gene(s) were recorded already, in an earlier round "
            f"({shown}); remove those rows (a round is recorded once; nothing recorded)"
        )
    where = _rounds(r for r, _ in known.values())
    differ = [g for g in genes if g in known and not _same(known[g][1], now[g])]
    if not differ:
        return LabInputError(
            f"{name}: {len(genes)} gene(s) were recorded already, in {where}, with the values "
            f"this file gives ({shown}); remove those rows (a round is recorded once; nothing "
            "recorded)"
        )
    pairs = {g: _pair(known[g][1], now[g]) for g in differ}
    several = len({r for r, _ in known.values()}) > 1
    changes = "; ".join(
        f"{written.get(g, g)}: recorded {pairs[g][0]}"
        + (f" in round {known[g][0]}" if several else "")
        + f", this file {pairs[g][1]}"
        for g in differ[:SHOWN]
    ) + ("; ..." if len(differ) > SHOWN else "")
    if len(differ) == len(genes):
        what = f"were recorded already, in {where}, and this file gives them other values"
    else:
        what = (
            f"were recorded already, in {where} ({shown}), and this file gives "
            f"{len(differ)} of them other values"
        )
    return LabInputError(
        f"{name}: {len(genes)} gene(s) {what} ({changes}); nothing recorded: remove those rows "
        "to go on with the recorded values, or correct them with `perturbo tell CAMPAIGN FILE "
        "--correct` and a file of one recorded round's genes only (a dated correction; the old "
        "values are kept)"
    )


def not_in_batch(
    name: str,
    stray: Sequence[str],
    written: Mapping[str, str],
    library: Collection[str] | None,
) -> LabInputError:
    """The refusal of a results file ``name`` that tells ``stray`` (normalised; ``written``: as
    the file spells them), genes not in the pending batch: those of the campaign's ``library``
    (normalised; ``None``: not known) told apart from those it does not have."""
    fix = "remove them, or check that this file belongs to this campaign and round"
    if library is None:
        return LabInputError(
            f"{name}: {len(stray)} gene(s) are not in the pending batch "
            f"({listed(written.get(g, g) for g in stray)}); {fix}"
        )
    ours = [written.get(g, g) for g in stray if g in library]
    other = [written.get(g, g) for g in stray if g not in library]
    parts = []
    if ours:
        parts.append(f"{len(ours)} of the library that were not proposed ({listed(ours)})")
    if other:
        parts.append(f"{len(other)} not in the library at all ({listed(other)})")
    spelling = " (and the symbols' spelling)" if other else ""
    return LabInputError(
        f"{name}: {len(stray)} gene(s) are not in the pending batch: {'; '.join(parts)}; "
        f"{fix}{spelling}"
    )
