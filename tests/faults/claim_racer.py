"""Two processes claiming one campaign at the same instant, many times over: the race is in
the claim itself (:mod:`perturbo.tracking.claim`), so each process imports everything and
opens its client once, then meets the other at a barrier before every claim.

``race(kind, uri, i_proc, n, barrier, results)``: ``kind`` "resume" claims campaign ``r``
(its parent run read after the barrier, as a driver reads it); "run" claims a new campaign
``n<k>`` and, having won, creates its parent run as the recorder does. Each claim's outcome
goes to ``results`` as (k, i_proc, "won" | "lost: <message>" | "error: <message>").
"""

from __future__ import annotations

from typing import Any


def race(kind: str, uri: str, me: int, n: int, barrier: Any, results: Any) -> None:
    from perturbo.tracking.claim import claim_new, claim_resume
    from perturbo.tracking.reader import find_parent
    from perturbo.tracking.uri import make_client
    from perturbo.types import PerturboError

    c = make_client(uri)
    exp = c.get_experiment_by_name("r")
    for k in range(n):
        barrier.wait(timeout=300)
        claim = None
        try:
            if kind == "resume":
                claim = claim_resume(c, "r", exp.experiment_id, find_parent(c, exp.experiment_id))
            else:
                claim = claim_new(c, f"n{k}", None)
                run = c.create_run(
                    claim.experiment_id, run_name=f"n{k}", tags={"perturbo.role": "campaign"}
                )
                claim.confirm_new(run.info.run_id)
            results.put((k, me, "won"))
        except PerturboError as e:
            results.put((k, me, f"lost: {e}"))
        except Exception as e:  # noqa: BLE001 - reported, counted as a failure by the test
            results.put((k, me, f"error: {type(e).__name__}: {e}"))
        barrier.wait(timeout=300)  # both have claimed (or lost) before the winner lets go
        if claim is not None:
            claim.release()
        barrier.wait(timeout=300)
