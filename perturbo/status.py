"""``perturbo status`` and ``perturbo stop``: what is running, and stopping it cleanly.

``status`` lists the campaigns whose parent run says RUNNING (``--all``: every campaign) with
their progress and whether their driver is alive (its heartbeat, or its PID on this host:
:mod:`perturbo.tracking.heartbeat`), and, given a Ray dashboard (``--address`` or an http
``$RAY_ADDRESS``), the perturbo jobs submitted there, matched to their campaigns.

``stop`` asks a campaign's driver, through the store, to stop: it asks for nothing more,
records what is running and ends KILLED; ``perturbo resume`` continues it. A campaign whose
driver is gone is marked KILLED at once. It exits 0 when it stopped the campaign (or asked it
to), 1 when it stopped nothing (see :func:`stop` for why).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Mapping
from typing import Any

from perturbo.status_jobs import job_campaigns, print_jobs
from perturbo.types import CampaignSummary, PerturboError

STATUS_EPILOG = """\
examples:
  perturbo status                                      # running campaigns in ./mlflow.db
  perturbo status --all                                # every campaign, running or not
  perturbo status --address http://127.0.0.1:8265      # + jobs submitted to that Ray cluster
  perturbo status --json                               # for scripts

A RUNNING campaign whose driver was killed (SIGKILL, a lost node) shows as "dead":
`perturbo resume NAME` continues it; nothing recorded is lost.
"""

STOP_EPILOG = """\
examples:
  perturbo stop hpo-branin                 # ask it to stop (returns at once)
  perturbo stop hpo-branin --wait 120      # ... and wait until it has
  perturbo resume hpo-branin               # later: continue where it stopped
  perturbo stop my-screen                  # a lab campaign waiting for results: closed (KILLED)

exit status: 0 stopped, KILLED and resumable (or, without --wait, asked to stop; or its dead
driver's campaign marked KILLED; or a lab campaign waiting for results closed, KILLED); 1
nothing stopped, one line says why: it was not running (FINISHED, FAILED or KILLED), it
finished its last round before it saw the stop (FINISHED), it did not end within --wait, or it
ended FAILED; 2 an error (no such campaign or store)
"""


def _store_option(p: argparse.ArgumentParser) -> None:
    from perturbo.show import store_option

    store_option(p, None)


def add_status_parser(sub: Any) -> Any:
    p = sub.add_parser(
        "status",
        help="running campaigns (local and submitted Ray jobs) and their progress",
        description="Running campaigns with their progress, and whether their driver is alive.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STATUS_EPILOG,
    )
    p.add_argument("--all", action="store_true", help="every campaign, not only running ones")
    p.add_argument(
        "--address",
        default=None,
        metavar="URL",
        help="a Ray dashboard to list submitted jobs from (default: $RAY_ADDRESS where it is "
        "an http:// URL)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    _store_option(p)
    return lambda ns: status(ns.tracking_uri, ns.all, ns.address, ns.json)


def add_stop_parser(sub: Any) -> Any:
    p = sub.add_parser(
        "stop",
        help="stop a running campaign cleanly (recorded, resumable)",
        description="Ask a running campaign to stop: it asks for no more experiments, records "
        "the ones running and ends KILLED; `perturbo resume` continues it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STOP_EPILOG,
    )
    p.add_argument("campaign", metavar="CAMPAIGN")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for it to have stopped (default: return at once)",
    )
    _store_option(p)
    return lambda ns: stop(ns.campaign, ns.tracking_uri, ns.wait)


# --------------------------------------------------------------------------- status


def _progress(s: CampaignSummary) -> str:
    """Rounds (or experiments) against the budget, then what ran: the failed experiments said
    apart ("5 ran, 3 failed", as the campaign list counts them from ``perturbo.n_failed``); a
    store recorded before that tag counts every one that ran. A budget of experiments counts
    the failed ones too (the loop spends it so), so its fraction stays and the failed follow."""
    from perturbo.tracking.heartbeat import FAILED_TAG, PROGRESS_TAG

    tags = s.run_tags
    n = tags.get(PROGRESS_TAG, "")
    ran = _int(n)
    failed = _int(tags.get(FAILED_TAG)) or 0
    failed = failed if ran is not None and 0 < failed <= ran else 0
    rounds = _int(tags.get("perturbo.meta.rounds"))
    budget = _int(tags.get("perturbo.meta.max_experiments"))
    if rounds:
        text = f"{s.rounds}/{rounds} rounds ({100 * s.rounds // rounds}%)"
        if n and ran is not None:
            text += f", {ran - failed} ran"
        elif n:
            text += f", {n} ran"
    elif budget and ran is not None:
        text = f"{ran}/{budget} experiments ({100 * ran // budget}%)"
    else:
        return f"{s.rounds} rounds"
    return text + (f", {failed} failed" if failed else "")


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v not in (None, "", "None") else None
    except ValueError:
        return None


def _rows(store: Any, everything: bool) -> list[dict[str, Any]]:
    from perturbo.lab.pending import LAB_TAG
    from perturbo.tracking.buffer_notice import buffered_lines
    from perturbo.tracking.heartbeat import liveness

    out = []
    for s in store.list_campaigns():
        buffered = " ".join(buffered_lines(store, s.name, s))  # shown even when it has ended
        if s.status not in ("RUNNING", "SCHEDULED") and not everything and not buffered:
            continue  # SCHEDULED: a lab campaign waits for results
        live = liveness(s.status, s.run_tags)
        # a lab campaign has no driver: its last `perturbo ask`/`tell` step held it briefly
        lab = s.run_tags.get(LAB_TAG) == "1"
        driver: Mapping[str, Any] = {} if lab else live.driver or {}
        out.append(
            {
                "campaign": s.name,
                "kind": s.kind,
                "state": live.state,
                "detail": live.detail,
                "progress": _progress(s),
                "heartbeat_age_s": None if live.beat_age_s is None else round(live.beat_age_s, 1),
                "host": driver.get("host", ""),
                "pid": driver.get("pid"),
                "ray_job": driver.get("ray_job", ""),
                "ray_submission": driver.get("ray_submission", ""),
                "started": s.started,
                "lab": lab,
                "buffered": buffered,
            }
        )
    return out


def _dashboard(address: str | None) -> str | None:
    if address:
        return address
    from perturbo.config import env_ray_address

    env = env_ray_address() or ""
    return env if env.startswith(("http://", "https://")) else None


def status(
    tracking_uri: str | None, everything: bool = False, address: str | None = None, as_json=False
) -> int:
    from perturbo.config import default_tracking_uri
    from perturbo.show import _console, _uri, check_store
    from perturbo.tracking import open_store
    from perturbo.tracking.uri import shown_uri

    uri = _uri(tracking_uri)
    dash = _dashboard(address)
    try:
        store = open_store(uri)
        check_store(store, default_tracking_uri())
        rows, down = _rows(store, everything), ""
    except PerturboError as e:  # the store is down (or not there): Ray's side still shows
        if not dash:
            raise
        rows, down = [], shown_uri(str(e))
    jobs: list[Any] = []
    if dash:
        from perturbo.actors.jobs import perturbo_jobs

        jobs = perturbo_jobs(dash)
        matched = job_campaigns(rows, jobs)
        for r in rows:
            if r["ray_submission"] in matched:
                r["submission_id"] = r["ray_submission"]
    if as_json:
        for r in rows:
            print(json.dumps(r))
        for j in jobs:
            print(json.dumps({"ray_job_submission": j.submission_id, "status": j.status,
                              "job_id": j.job_id, "entrypoint": j.entrypoint}))  # fmt: skip
    else:
        console = _console()
        if not down:
            _print_campaigns(console, uri, rows, everything)
        if dash:
            print_jobs(console, dash, jobs, job_campaigns(rows, jobs))
    if down:  # after Ray's jobs, and the exit status says the campaigns are missing
        print(f"perturbo: error: {down} (the Ray jobs above are all status could read)",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


def _age(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s:.0f} s ago" if s < 120 else f"{s / 60:.0f} min ago"


def _print_campaigns(console: Any, uri: str, rows: list[dict[str, Any]], everything: bool) -> None:
    from rich.table import Table

    from perturbo.tracking.uri import shown_uri

    if not rows:
        what = "campaigns" if everything else "running campaigns"
        console.print(f"no {what} in {shown_uri(uri)} (`perturbo show` lists every campaign there)")
        return
    t = Table(title=f"{'campaigns' if everything else 'running campaigns'} in {shown_uri(uri)}")
    for col in ("campaign", "kind", "state", "progress", "heartbeat", "driver"):
        t.add_column(col, overflow="fold", no_wrap=col == "campaign")
    style = {"running": "green", "stopping": "yellow", "dead": "red"}
    for r in rows:
        where = f"{r['host']}:{r['pid']}" if r["host"] else ("none: lab" if r["lab"] else "")
        if r.get("submission_id"):
            where += f" (ray job {r['submission_id']})"
        state = f"[{style.get(r['state'], 'dim')}]{r['state']}[/]"
        if r["detail"]:
            state += f" ({r['detail']})"
        t.add_row(r["campaign"], r["kind"], state, r["progress"], _age(r["heartbeat_age_s"]), where)
    console.print(t)
    for r in rows:  # rounds the store refused, kept on a disk: a resume elsewhere reruns them
        if r["buffered"]:
            console.print(r["buffered"])
    dead = [r["campaign"] for r in rows if r["state"] == "dead"]
    for name in dead:
        console.print(
            f"{name}: its driver is gone; `perturbo resume {shlex.quote(name)}` continues it"
        )


# --------------------------------------------------------------------------- stop


def stop(campaign: str, tracking_uri: str | None, wait_s: float = 0.0) -> int:
    """``perturbo stop``; returns the exit status.

    A stop asks the campaign's driver to end cleanly, and KILLED is the state that ends in:
    MLflow's status for a run a person ended (Ray's ``STOPPED``), resumable, not a failure. So
    a stop that did what was asked exits 0 and says the state it left -- as ``ray job stop``
    does once the job has stopped: ended KILLED (``--wait``), or asked and stopping (without
    it: it returns at once, as ``ray job stop --no-wait``), or a dead driver's campaign marked
    KILLED here, or a lab campaign waiting for results (no process runs it) closed here,
    KILLED, its recorded rounds and pending batch kept for ``perturbo resume`` (:mod:`perturbo.lab.extend`). A
    stop that stopped nothing exits 1 with one line on stderr that says why -- as ``pkill``
    exits 1 when nothing matched, and the chat refuses such a stop: the campaign was not
    running (it had ended FINISHED, FAILED or KILLED; or it finished its last round before it
    saw the request: FINISHED, nothing left to resume), it did not end within ``--wait``, or it
    ended FAILED instead of the clean stop asked for. A script's ``perturbo stop NAME --wait 120 && perturbo resume NAME`` thus
    resumes only what it stopped. Exit 2 stays what it is everywhere: an error in the input
    (no such campaign or store, a bad ``--wait``)."""
    from perturbo.show import _uri, check_store, resolve
    from perturbo.tracking import open_store
    from perturbo.tracking.control import live, request_stop

    if wait_s < 0:
        raise PerturboError(f"--wait {wait_s:g}: must be 0 or more seconds")
    from perturbo.config import default_tracking_uri

    uri = _uri(tracking_uri)
    store = open_store(uri)
    check_store(store, default_tracking_uri())
    name = resolve(store, campaign)
    state = live(store, name)
    if state.state == "dead":
        return _mark_dead(store, name, state.detail)
    if state.state == "waiting":  # a lab campaign: no driver to ask, so it is closed here
        return _stop_lab(store, name, wait_s)
    if state.state not in ("running", "stopping"):
        return _nothing_stopped(name, state)
    request_stop(store, name)
    q = shlex.quote(name)
    asked = f"asked {name} to stop: it starts nothing new, records what is running, and ends KILLED"
    if wait_s <= 0:
        print(
            f"{asked}; `perturbo stop {q} --wait 120` waits for that, `perturbo resume {q}` "
            "then continues it",
            flush=True,
        )
        return 0
    print(f"{asked}; waiting up to {wait_s:g} s", flush=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        state = live(store, name)
        if state.state == "dead":  # it died instead of ending: as a dead driver's campaign
            return _mark_dead(store, name, state.detail)
        if state.state not in ("running", "stopping"):
            return _ended(name, state.state)
        time.sleep(1.0)
    print(
        f"{name} is still finishing what runs after {wait_s:g} s (still {state.state}): it was "
        f"asked to stop; `perturbo status` shows when it has",
        file=sys.stderr,
    )
    return 1


def _mark_dead(store: Any, name: str, detail: str) -> int:
    from perturbo.tracking.control import mark_killed

    mark_killed(store, name, f"its driver is gone ({detail}); marked by `perturbo stop`")
    print(f"{name}: {detail}; marked KILLED. `perturbo resume {shlex.quote(name)}` continues it")
    return 0


def _ended(name: str, state: str) -> int:
    """What a stop waited for ended ``state``: 0 when that is what was asked, KILLED; 1 for
    FINISHED (nothing stopped, nothing to resume) or FAILED (see :func:`stop`)."""
    q = shlex.quote(name)
    if state == "killed":
        print(f"{name} stopped: KILLED, what it ran recorded; `perturbo resume {q}` continues it")
        return 0
    if state == "finished":
        print(  # nothing stopped, nothing to resume: 1, so `stop X --wait && resume X` stops
            f"{name} finished its last round before it saw the stop: FINISHED, nothing left",
            file=sys.stderr,
        )
        return 1
    print(
        f"{name} ended {state.upper()}, not the clean stop asked for: `perturbo show {q}` says "
        f"why; `perturbo resume {q}` continues it",
        file=sys.stderr,
    )
    return 1


def _nothing_stopped(name: str, state: Any) -> int:
    """A campaign that was not running: one line on stderr, exit 1 (see :func:`stop`)."""
    q = shlex.quote(name)
    why = f"is not running: it ended {state.state.upper()}"
    if state.state in ("killed", "failed"):
        why += f" (`perturbo resume {q}` continues it)"
    print(f"{name} {why}; nothing to stop", file=sys.stderr)
    return 1


def _stop_lab(store: Any, name: str, wait_s: float) -> int:
    """A lab campaign waiting for results (no process runs it): closed, KILLED, its rounds
    and pending batch kept, resumable (:func:`perturbo.lab.extend.stop_lab`); ``wait_s``: how
    long to wait for an ``ask``/``tell`` that holds it."""
    from perturbo.lab.extend import stop_lab

    print(stop_lab(store, name, wait_s if wait_s > 0 else None), flush=True)
    return 0


__all__ = ["add_status_parser", "add_stop_parser", "job_campaigns", "status", "stop"]
