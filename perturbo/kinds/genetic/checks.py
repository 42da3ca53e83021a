"""What a genetic campaign checks before it runs, beside reading its screen:

- :func:`record_files`: the screen and ``--hits`` files' content (sha256) and the folder the
  campaign was started in are recorded in its config at the start; a resume refuses a file
  whose content changed since (the campaign's earlier rounds were scored against the old one)
  or that is gone, naming the file, where the campaign was started and the fix.
- :func:`refuse_lab_only`: ``--hit-rule``, ``--exclude``, ``--controls`` and ``--library``
  describe a lab campaign (``--lab``); a replay of a measured screen refuses them rather than
  ignore them (its hits come from ``--hits FILE`` or the default rule).
- :func:`hits_line`: the startup line saying how the screen's hits are defined and how many
  there are, and whether the task's direction words disagree with a two-tailed rule.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kinds.genetic.screens import Screen
    from perturbo.kinds.genetic.settings import GeneticConfig
    from perturbo.kindspec import BuildContext

__all__ = [
    "LAB_ONLY",
    "direction_words",
    "file_sha256",
    "hits_line",
    "record_files",
    "refuse_lab_only",
    "say",
]

LAB_ONLY = {
    "hit_rule": "for a replay of a measured screen, pass --hits FILE (one hit gene per line)",
    "exclude": "for a replay, delete those genes' rows from the screen file",
    "controls": "for a replay, delete the controls' rows from the screen file",
    "library": "for a replay, the screen file is the library",
}
"""Lab-only settings -> what to do instead in a replay."""

_LOW = r"lower|lowers|lowered|lowering|decrease|decreases|decreased|decreasing|reduce|reduces|reduced|reducing|suppress|suppresses|suppressed|inhibit|inhibits|impair|impairs|diminish|diminishes|depletes"
_HIGH = r"raise|raises|raised|raising|increase|increases|increased|increasing|enhance|enhances|enhanced|enhancing|boost|boosts|elevate|elevates|promote|promotes"
_WORDS = {
    "low": re.compile(rf"\b({_LOW})\b", re.IGNORECASE),
    "high": re.compile(rf"\b({_HIGH})\b", re.IGNORECASE),
}


def say(line: str) -> None:
    """One startup line on stderr (stdout stays for results), as the launcher's are."""
    print(line, file=sys.stderr, flush=True)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_builtin(screen: str) -> bool:
    from perturbo.kinds.genetic.settings import _builtin_names

    return screen.lower() in _builtin_names()


def _missing(flag: str, value: str, cfg: GeneticConfig) -> PerturboError:
    where = (
        f"the campaign was started in {cfg.started_in}"
        if cfg.started_in
        else "the campaign recorded it as a relative path: resume from the folder it was started in"
    )
    return PerturboError(
        f"{flag} {value}: no such file, and this campaign's rounds were measured against it "
        f"({where}); put the file back there, or start a new campaign"
    )


def _checked(flag: str, value: str, recorded: str | None) -> str:
    """The file's sha256, refused where it differs from the one ``recorded`` at the start."""
    try:
        now = file_sha256(Path(value))
    except OSError as e:
        raise PerturboError(f"{flag} {value}: cannot be read ({e}); check the path") from None
    if recorded and recorded.lower() != now:
        raise PerturboError(
            f"{flag} {value}: its content changed since the campaign started (sha256 "
            f"{recorded[:12]}... then, {now[:12]}... now), and its rounds were scored against "
            "the old one; restore the file as it was, or start a new campaign with this file"
        )
    return now


def record_files(cfg: GeneticConfig) -> GeneticConfig:
    """``cfg`` with the screen's and the hits file's sha256 and the start folder filled in;
    a :class:`PerturboError` where a recorded hash differs from the file's content, or a
    recorded campaign's file is gone. A campaign recorded before hashes were (none in its
    config) resumes as before: the hashes are taken now. Built-in screens need none."""
    recorded = bool(cfg.screen_sha256 or cfg.hits_sha256 or cfg.started_in)
    update: dict[str, Any] = {}
    if not _is_builtin(cfg.screen):
        if not Path(cfg.screen).is_file():
            if recorded:
                raise _missing("--screen", cfg.screen, cfg)
            return cfg  # the screen reader names what is wrong with a new campaign's input
        update["screen_sha256"] = _checked("--screen", cfg.screen, cfg.screen_sha256)
    if cfg.hits is not None:
        if not Path(cfg.hits).is_file():
            if recorded:
                raise _missing("--hits", cfg.hits, cfg)
            return cfg.model_copy(update=update)  # the hits reader names it
        update["hits_sha256"] = _checked("--hits", cfg.hits, cfg.hits_sha256)
    if cfg.started_in is None:
        update["started_in"] = str(Path.cwd())
    return cfg.model_copy(update=update)


def _recorded(context: BuildContext) -> bool:
    """Whether the store already holds this campaign (a resume, not a new start)."""
    if context.store is None or not context.campaign:
        return False
    try:
        return bool(context.store.exists()) and bool(context.store.config(context.campaign))
    except Exception:  # noqa: BLE001 - an unknown campaign: a new start
        return False


def refuse_lab_only(cfg: GeneticConfig, context: BuildContext) -> None:
    """Refuse the lab-only settings in a campaign without ``--lab`` (a replay), in one line
    naming the first one and what to do instead. A campaign recorded with one before this
    check (where it was ignored) still resumes, as it ran."""
    given = [k for k in LAB_ONLY if getattr(cfg, k) is not None]
    if cfg.lab or not given or _recorded(context):
        return
    flags = ", ".join("--" + k.replace("_", "-") for k in given)
    first = given[0]
    raise PerturboError(
        f"{flags} {'is' if len(given) == 1 else 'are'} for a lab campaign (--lab), where "
        f"perturbo proposes batches your lab measures; {LAB_ONLY[first]}, or add --lab"
    )


def direction_words(task: str) -> dict[str, list[str]]:
    """The task's direction words per tail (``low``: lowers, reduces...; ``high``: raises...)."""
    return {
        tail: sorted({m.group(0).lower() for m in rx.finditer(task)}) for tail, rx in _WORDS.items()
    }


def hits_line(screen: Screen, cfg: GeneticConfig) -> str:
    """How the campaign's hits are defined and how many there are, in one line; where the
    default rule takes both tails but the task's words pick one, it says so (the rule is not
    changed: the user decides)."""
    from perturbo.kinds.genetic.screen_files import HIT_FRACTION

    n, total = len(screen.hits), len(screen)
    head = f"  hits: {n} of {total} genes"
    if _is_builtin(cfg.screen):
        return f"{head}, as published with the built-in screen {screen.name}"
    if cfg.hits is not None:
        return f"{head}, the genes listed in --hits {cfg.hits}"
    by = {
        "both": "largest |Score| (both tails)",
        "high": "highest Score (high tail)",
        "low": "lowest Score (low tail)",
    }
    line = (
        f"{head}, the {HIT_FRACTION:.0%} with the {by[screen.hit_tail]}; --hits FILE sets "
        "them, --hit-tail high|low picks a tail"
    )
    if screen.hit_tail == "both" and cfg.hit_tail is None:
        words = direction_words(screen.task)
        picks = [t for t, w in words.items() if w]
        if len(picks) == 1:
            tail = picks[0]
            said = "/".join(repr(w) for w in words[tail])
            line += (
                f"; note: the task says {said}, which picks the {tail} tail, while this rule "
                f"counts both: add --hit-tail {tail} if that is what you mean"
            )
    return line
