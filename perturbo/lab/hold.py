"""A lab step's hold on its campaign: several workers share one campaign by taking turns.

Every ``perturbo ask``/``tell`` of a lab campaign (and ``open_campaign(...).ask/tell``) holds
the campaign with the store's atomic claim (:mod:`perturbo.tracking.claim`) while it reads,
proposes and records, as one driver would; it claims as a :data:`~perturbo.tracking.claim.STEP`.
A step finds the campaign held:

- by another step (a second or two): it polls the claim, with jitter, until that step lets go,
  then goes on (Optuna's ask/tell on an RDB storage serialises the same way); only a step
  that keeps holding it for :data:`STEP_WAIT_S` (``--wait``) ends in one line, which names
  it and says to run yours again;
- by a driver (``perturbo run``/``resume``: held as long as it runs): one line at once, the
  driver's (wait for it to end, or stop it).

A step that could not claim changed nothing: the trials a worker was handed stay open, to be
told by a step that runs again (or by another worker).

A campaign a person stopped (``perturbo stop``: KILLED, :func:`perturbo.lab.extend.stop_lab`)
takes no step: its hold is refused in one line naming ``perturbo resume``, the one step that
holds it then (``stopped_ok``).
"""

from __future__ import annotations

import random
import time
from typing import Any

from perturbo.tracking.claim import STEP, Claim, Claimed
from perturbo.types import PerturboError

__all__ = [
    "STEP_WAIT_S",
    "STOPPED_STATUS",
    "STOPPED_TAG",
    "claim_new_step",
    "claim_step",
    "hold",
]

STEP_WAIT_S = 30.0
"""How long a step waits, by default, for another step that holds its campaign."""
POLL_S = (0.05, 0.25)
"""Seconds between two looks at the claim (uniform: two waiting steps do not look in step)."""
MAX_WAITS = 4
"""A step waits at most this many times ``wait_s`` in all, however often the holder changes."""
STOPPED_STATUS = "KILLED"
"""The parent run's status once a person stopped the campaign (resumable)."""
STOPPED_TAG = "perturbo.stopped"
"""On the parent run: why and how it was stopped (:func:`perturbo.tracking.control.mark_killed`)."""


def claim_step(store: Any, name: str) -> Claim:
    """Claim lab campaign ``name`` for one step, in one atomic step of the store (the parent
    run read now); :class:`Claimed` (with its ``holder``) where another holds it."""
    from perturbo.tracking.claim import claim_resume

    exp, parent = store._open(name)  # noqa: SLF001 - the store's one lookup
    return store._call(  # noqa: SLF001 - the store's one error wrapper
        f"claiming campaign {name!r}",
        lambda: claim_resume(store.client, name, exp.experiment_id, parent, role=STEP),
    )


def claim_new_step(uri: str, name: str) -> Claim:
    """Claim new lab campaign ``name`` for the step that starts it (creating its experiment:
    :func:`perturbo.tracking.claim.claim_new`)."""
    from perturbo.tracking.claim import claim_new
    from perturbo.tracking.uri import artifact_location, make_client, wrap_error
    from perturbo.types import PerturboError

    try:
        return claim_new(make_client(uri), name, artifact_location(uri, name), role=STEP)
    except PerturboError:
        raise
    except Exception as e:  # the store, not the user's input
        raise wrap_error(uri, f"claiming campaign {name!r}", e) from None


def hold(store: Any, name: str, wait_s: float | None = None, *, stopped_ok: bool = False) -> Claim:
    """Claim campaign ``name`` for this step, waiting while another step holds it (see the
    module docstring): up to ``wait_s`` (default :data:`STEP_WAIT_S`) for one holder, and
    :data:`MAX_WAITS` times that in all. A campaign a person stopped is refused (the claim let
    go), unless ``stopped_ok`` (the resume that continues it)."""
    claim = _claim(store, name, wait_s)
    if stopped_ok:
        return claim
    try:
        _, parent = store._open(name)  # noqa: SLF001 - read under the claim
        if parent.info.status == STOPPED_STATUS:
            import shlex

            why = parent.data.tags.get(STOPPED_TAG) or "KILLED"
            q = shlex.quote(name)
            raise PerturboError(
                f"campaign {name!r} is stopped ({why}); nothing was recorded: "
                f"`perturbo resume {q}` continues it (`perturbo show {q}` shows what it recorded)"
            )
    except BaseException:
        claim.release()
        raise
    return claim


def _claim(store: Any, name: str, wait_s: float | None) -> Claim:
    wait = STEP_WAIT_S if wait_s is None else max(0.0, float(wait_s))
    start = time.monotonic()
    token, since = "", start
    while True:
        try:
            return claim_step(store, name)
        except Claimed as e:
            holder = e.holder
            if holder is None or holder.role != STEP:
                raise  # a driver runs it: its line says to wait for it or stop it
            now = time.monotonic()
            if holder.token != token:  # another step took it: the others make progress
                token, since = holder.token, now
            if now - since >= wait or now - start >= MAX_WAITS * wait:
                raise Claimed(
                    f"campaign {name!r} is busy: another `perturbo ask`/`tell` holds it "
                    f"({holder.where()}, since {holder.since()}) and did not let go within "
                    f"{now - start:.0f} s; nothing was changed: run yours again (--wait "
                    "SECONDS waits longer; `perturbo status` shows the campaign)",
                    holder,
                ) from None
            time.sleep(random.uniform(*POLL_S))  # noqa: S311 - jitter, not a secret
