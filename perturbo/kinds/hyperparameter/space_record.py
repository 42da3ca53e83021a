"""A hyperparameter campaign's ``--space`` is recorded with the campaign, not re-read.

Why: every trial of a campaign was proposed and measured in one space. Re-reading the
``--space`` file at each resume let an edit made since the start silently change the
campaign (a reported best outside the new space, trials failing on a dropped choice, one
campaign holding trials of ``widht`` and of ``width``), and a moved or deleted file made
resume impossible (``perturbo resume`` has no ``--space`` flag to point at it again).

So the file is read once, at the start: the campaign's config records the parsed space
(``space``: the table :meth:`~perturbo.space.SearchSpace.to_dict` gives) and the file it came
from (``space_file``). A resume builds from the recorded table and never needs the file;
where the file is still there and now describes another space, one line says so and that
the recorded space is used (as for a genetic campaign's screen file, whose content is
checked at resume: :mod:`perturbo.kinds.genetic.checks`). A campaign recorded before this
(its ``space`` a path) reads its file as it always did, and is recorded with the table from
that resume on.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kinds.hyperparameter.settings import HyperparameterConfig
    from perturbo.space import SearchSpace

__all__ = ["changed_note", "recorded_space"]


def recorded_space(
    cfg: HyperparameterConfig,
) -> tuple[HyperparameterConfig, SearchSpace | None]:
    """``cfg`` with its space recorded as a table (and the file it was read from), and that
    space (``None``: the task's own). A recorded table is used as it is; the file it came
    from, where it now says something else, gets one line on stderr."""
    from perturbo.space import SearchSpace

    if cfg.space is None:
        return cfg, None
    if isinstance(cfg.space, dict):
        space = SearchSpace.from_dict(cfg.space)
        note = changed_note(cfg.space_file, space)
        if note:
            print(note, file=sys.stderr, flush=True)
        return cfg, space
    space = SearchSpace.from_toml(cfg.space)
    update = {"space": space.to_dict(), "space_file": str(Path(cfg.space).resolve())}
    return cfg.model_copy(update=update), space


def changed_note(path: str | None, recorded: SearchSpace) -> str | None:
    """One line where the file at ``path`` still exists and describes a space other than
    ``recorded`` (compared parsed: an edited comment or layout is no change), else None."""
    from perturbo.space import SearchSpace

    if not path or not Path(path).is_file():
        return None
    try:
        now = SearchSpace.from_toml(path).to_dict()
    except PerturboError:
        now = None  # no longer a valid space: changed, all the same
    if now == recorded.to_dict():
        return None
    return (
        f"note: search space file {path} changed since this campaign started; it goes on "
        "with the space recorded at its start (to use the edited one, start a new campaign "
        f"with --space {path})"
    )
