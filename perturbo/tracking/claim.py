"""One driver per campaign, claimed in one atomic step of the store.

Checking that no driver is alive and then writing "mine" are two steps, and two drivers
released at the same instant both passed the check (issue 17: 72 trial runs for a 40-trial
budget). A claim is instead a write that only one process can win, decided by a unique
constraint of the store itself:

- a **new** campaign (``run --name X``) is claimed by creating its MLflow experiment: names are
  unique, so of two drivers exactly one creates it; the experiment carries its creator
  (:data:`HOLDER_TAG`) until the campaign's parent run exists. The loser reads who won.
- a **resumed** campaign is claimed generation by generation: the driver reads the parent run's
  claims, refuses where the latest holder is alive, and logs the next one, the parent-run
  param ``perturbo.claim.<g>`` (:data:`CLAIM_PREFIX`). A param's key is unique per run and
  MLflow refuses to change its value, so of two drivers that both saw generation ``g - 1``
  exactly one logs ``g``. The creator of a new campaign logs generation 0.
- a claim ends when its driver ends (:meth:`Claim.release`: the tag :data:`RELEASED_TAG`), or
  when the driver is gone: its PID on this host, else its heartbeat
  (:mod:`~perturbo.tracking.heartbeat`) stale for ``STALE_BEATS`` intervals.
- a claim says what holds it (:attr:`Holder.role`): a :data:`DRIVER` runs the campaign for as
  long as it takes; a :data:`STEP` (one ``perturbo ask``/``tell`` of a lab campaign) holds it
  for a second or two, so another step waits for it (:mod:`perturbo.lab.hold`) rather than
  give up. :class:`Claimed` carries the holder that won.

An experiment left without a parent run by a driver that died between the two (rare) is
adopted through a claim experiment (``.perturbo-claim <id> <n>``, deleted at once: its name
stays taken, so the same unique constraint decides).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from perturbo.tracking.batch import log_batch
from perturbo.tracking.heartbeat import (
    DRIVER_TAG,
    HEARTBEAT_TAG,
    STALE_BEATS,
    interval_s,
    pid_alive,
)
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

CLAIM_PREFIX = "perturbo.claim."
"""Parent-run params ``perturbo.claim.<generation>`` = the holder (JSON)."""
RELEASED_TAG = "perturbo.claim_released"
"""Parent-run tag: the generation whose driver has ended."""
HOLDER_TAG = "perturbo.claim_holder"
"""Experiment tag: the driver that created the campaign (until its parent run exists)."""
DRIVER = "driver"
"""A holder that runs the campaign (``perturbo run``/``resume``): held as long as it runs."""
STEP = "step"
"""A holder that is one step of a lab campaign (``perturbo ask``/``tell``): held briefly."""

_ACTIVE: set[str] = set()
"""Tokens of the claims this process holds now."""


@dataclass(frozen=True)
class Holder:
    """A driver: where it runs, when it claimed, a token no other claim has, and what it is
    (:data:`DRIVER` or :data:`STEP`; a claim written before roles were is a driver's)."""

    host: str
    pid: int
    t: float
    token: str
    role: str = DRIVER

    @classmethod
    def me(cls, role: str = DRIVER) -> Holder:
        return cls(socket.gethostname(), os.getpid(), time.time(), uuid.uuid4().hex, role)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, text: str | None) -> Holder | None:
        try:
            d = json.loads(text or "")
            role = str(d.get("role", DRIVER))
            return cls(str(d["host"]), int(d["pid"]), float(d["t"]), str(d["token"]), role)
        except (ValueError, TypeError, KeyError):
            return None

    def where(self) -> str:
        return f"{self.host}:{self.pid}"

    def since(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.t))


class Claimed(PerturboError):
    """Another driver holds the campaign (the loser's one line, exit 2); ``holder``: which one
    (``None`` where the store does not say: a campaign recorded before claims)."""

    def __init__(self, message: str, holder: Holder | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def grace_s() -> float:
    """How long a claim counts as alive without a heartbeat of its own."""
    return STALE_BEATS * interval_s() + 10


def alive(holder: Holder, run_tags: Mapping[str, str] | None = None, now: float = 0.0) -> bool:
    """Whether ``holder`` still drives: its PID on this host; elsewhere, a claim younger than
    :func:`grace_s` or a heartbeat of that driver (``run_tags``) that recent."""
    now = now or time.time()
    if holder.host == socket.gethostname():
        if holder.pid == os.getpid():
            return holder.token in _ACTIVE
        return pid_alive(holder.pid)
    if now - holder.t < grace_s():
        return True
    tags = run_tags or {}
    try:
        driver = json.loads(tags.get(DRIVER_TAG, "{}"))
        beat = float(tags.get(HEARTBEAT_TAG, "nan"))
    except (ValueError, TypeError):
        return False
    mine = driver.get("host") == holder.host and driver.get("pid") == holder.pid
    return bool(mine) and now - beat < grace_s()


def _held_by(campaign: str, holder: Holder, how: str, new: bool = False) -> Claimed:
    fix = (
        "pick another --name"
        if new
        else f"wait for it to end, or `perturbo stop {shlex.quote(campaign)}` first"
    )
    return Claimed(
        f"campaign {campaign!r} is {how}: another driver holds it ({holder.where()}, since "
        f"{holder.since()}); {fix} (`perturbo status` shows it); nothing was changed",
        holder,
    )


@dataclass
class Claim:
    """What one driver holds; :meth:`release` when it ends (idempotent, never raises)."""

    client: MlflowClient
    campaign: str
    holder: Holder
    generation: int = 0
    run_id: str = ""
    experiment_id: str = ""

    def release(self) -> None:
        if self.holder.token not in _ACTIVE:
            return
        _ACTIVE.discard(self.holder.token)
        try:
            if self.run_id:
                log_batch(self.client, self.run_id, tags=self._end_tags())
            elif self.experiment_id:
                self.client.set_experiment_tag(self.experiment_id, HOLDER_TAG, "")
        except Exception:  # noqa: BLE001, S110 - a store that is down: the PID/heartbeat tells
            pass

    def _end_tags(self) -> dict[str, str]:
        """The release, and how many rounds are committed (never fewer than a driver said
        before: a round file deleted since is damage, not progress to forget)."""
        from perturbo.tracking.integrity import COMMITTED_TAG, committed_count

        said = self.client.get_run(self.run_id).data.tags.get(COMMITTED_TAG, "")
        n = committed_count(self.client, self.run_id)
        n = max(n, int(said)) if said.isdigit() else n
        return {COMMITTED_TAG: str(n), RELEASED_TAG: str(self.generation)}

    def confirm_new(self, run_id: str) -> None:
        """The creator of a new campaign takes generation 0 on its parent run."""
        self.run_id = run_id
        _log_generation(self.client, self.campaign, run_id, 0, self.holder)


def claims(run: Run) -> dict[int, Holder]:
    """The claims on a parent run, by generation."""
    out: dict[int, Holder] = {}
    for k, v in run.data.params.items():
        if k.startswith(CLAIM_PREFIX) and k[len(CLAIM_PREFIX) :].isdigit():
            h = Holder.parse(v)
            if h is not None:
                out[int(k[len(CLAIM_PREFIX) :])] = h
    return out


def _log_generation(client: MlflowClient, campaign: str, run_id: str, gen: int, me: Holder) -> None:
    """Log claim ``gen``: the atomic step (a param's value cannot change). The loser raises
    :class:`Claimed` naming the winner."""
    from mlflow.exceptions import MlflowException

    key = f"{CLAIM_PREFIX}{gen}"
    try:
        client.log_param(run_id, key, me.to_json())
    except MlflowException:
        winner = Holder.parse(client.get_run(run_id).data.params.get(key))
        if winner is None or winner.token == me.token:
            raise
        _ACTIVE.discard(me.token)
        raise _held_by(campaign, winner, "being resumed") from None


def claim_resume(
    client: MlflowClient, campaign: str, experiment_id: str, run: Run, role: str = DRIVER
) -> Claim:
    """Claim campaign ``campaign`` (its parent run ``run``, just read) for this driver (a
    ``role``: :data:`DRIVER` or :data:`STEP`), or raise :class:`Claimed` naming the driver
    that holds it."""
    from perturbo.tracking.heartbeat import liveness

    me = Holder.me(role)
    held = claims(run)
    tags = dict(run.data.tags)
    if held:
        gen = max(held)
        latest = held[gen]
        if tags.get(RELEASED_TAG) != str(gen) and alive(latest, tags):
            raise _held_by(campaign, latest, "running")
        gen += 1
    else:  # a campaign recorded before claims: its driver's liveness, and its creator's
        live = liveness(run.info.status, tags)
        if live.state in ("running", "stopping"):
            d = live.driver or {}
            raise Claimed(
                f"campaign {campaign!r} is running (driver {d.get('host', '?')}:"
                f"{d.get('pid', '?')}): `perturbo stop {shlex.quote(campaign)}` first, then "
                "resume it (`perturbo status` shows it)"
            )
        creator = Holder.parse(client.get_experiment(experiment_id).tags.get(HOLDER_TAG))
        if creator is not None and alive(creator, tags):
            raise _held_by(campaign, creator, "being started")
        gen = 0
    _ACTIVE.add(me.token)
    claim = Claim(client, campaign, me, gen, run.info.run_id, experiment_id)
    try:
        _log_generation(client, campaign, run.info.run_id, gen, me)
    except BaseException:
        _ACTIVE.discard(me.token)
        raise
    return claim


def claim_new(
    client: MlflowClient, campaign: str, artifact_location: str | None, role: str = DRIVER
) -> Claim:
    """Claim a new campaign by creating its experiment (names are unique) for a ``role``.
    Raises :class:`Claimed` where another driver holds or is starting it, and
    :class:`~perturbo.types.PerturboError` where the campaign already exists."""
    from mlflow.exceptions import MlflowException

    me = Holder.me(role)
    exp = client.get_experiment_by_name(campaign)
    if exp is None:
        try:
            eid = client.create_experiment(
                campaign, artifact_location=artifact_location, tags={HOLDER_TAG: me.to_json()}
            )
        except MlflowException as e:
            if e.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            exp = client.get_experiment_by_name(campaign)
            if exp is None:
                raise
        else:
            _ACTIVE.add(me.token)
            return Claim(client, campaign, me, 0, "", eid)
    if exp.lifecycle_stage == "deleted":
        raise PerturboError(
            f"campaign {campaign!r} was deleted in this store: restore it "
            "(`mlflow experiments restore`) or pick another --name"
        )
    from perturbo.tracking.reader import find_parent

    parent = find_parent(client, exp.experiment_id)
    if parent is not None:
        held = claims(parent)
        latest = held[max(held)] if held else None
        tags = dict(parent.data.tags)
        if latest is not None and tags.get(RELEASED_TAG) != str(max(held)) and alive(latest, tags):
            raise _held_by(campaign, latest, "running", new=True)
        # a lab campaign (perturbo.lab.pending.LAB_TAG; the lab layer sits above the store)
        # goes on with `perturbo ask`/`tell`: `perturbo resume` refuses it
        go_on = (
            f"`perturbo ask {campaign}` shows its waiting batch and `perturbo tell {campaign} "
            "FILE` records it"
            if tags.get("perturbo.lab") == "1"
            else f"continue it with `perturbo resume {campaign}`"
        )
        raise PerturboError(
            f"campaign {campaign!r} already exists: {go_on}, or pick another --name"
        )
    creator = Holder.parse(exp.tags.get(HOLDER_TAG))
    if creator is not None and alive(creator):
        raise _held_by(campaign, creator, "being started", new=True)
    _adopt(client, campaign, exp.experiment_id, me)
    _ACTIVE.add(me.token)
    client.set_experiment_tag(exp.experiment_id, HOLDER_TAG, me.to_json())
    return Claim(client, campaign, me, 0, "", exp.experiment_id)


def _adopt(client: MlflowClient, campaign: str, experiment_id: str, me: Holder) -> None:
    """Win an experiment left without a parent run: create claim experiment
    ``.perturbo-claim <id> <n>`` for the first ``n`` not yet taken by a live driver."""
    from mlflow.exceptions import MlflowException

    for n in range(1000):
        name = f".perturbo-claim {experiment_id} {n}"
        try:
            eid = client.create_experiment(name, tags={HOLDER_TAG: me.to_json()})
        except MlflowException as e:
            if e.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            taken = client.get_experiment_by_name(name)
            other = Holder.parse(taken.tags.get(HOLDER_TAG)) if taken is not None else None
            if other is not None and alive(other):
                raise _held_by(campaign, other, "being started", new=True) from None
            continue
        client.delete_experiment(eid)  # out of sight; its name stays taken
        return
    raise PerturboError(f"campaign {campaign!r}: too many abandoned starts; pick another --name")


__all__ = [
    "CLAIM_PREFIX",
    "DRIVER",
    "HOLDER_TAG",
    "RELEASED_TAG",
    "STEP",
    "Claim",
    "Claimed",
    "Holder",
    "alive",
    "claim_new",
    "claim_resume",
    "claims",
]
