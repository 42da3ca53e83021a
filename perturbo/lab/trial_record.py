"""How a step of a trial lab campaign (:mod:`perturbo.lab.trials`) records trials that ended:
those a ``tell`` was given, and the stale ones an ``ask`` finds handed out again
``--max-retries`` times and never told (:mod:`perturbo.lab.stale`), recorded failed.

Both record the same way, under the step's hold on the campaign: one round of the history,
then the trials taken off the open ones in ``lab/trials.json`` (a step killed in between loses
nothing: the open trials are those not in the history), then the campaign left waiting -- or
finished, when nothing is open and its budget is spent. Recording proposes nothing, so the
planner is not rebuilt for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perturbo.history import History
from perturbo.kindspec import KindSpec
from perturbo.lab.loop import _failed, _recorder, _steps
from perturbo.lab.pending import WAITING
from perturbo.lab.stale import worn_out_reason
from perturbo.lab.trial_state import TrialsState, write_state
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

__all__ = ["fail_worn_out", "park", "record_trials"]


def park(recorder: Any) -> None:
    """This step ends, the campaign does not: no heartbeat left beating, status waiting."""
    recorder._close_heartbeat()  # noqa: SLF001 - this step ends; the campaign does not
    recorder.client.update_run(recorder.run_id, status=WAITING)


class _Deaf:
    """The planner of a step that proposes nothing: no planner to rebuild, nothing to tell."""

    def tell(self, observations: Sequence[Observation]) -> None:
        pass


def record_trials(
    spec: KindSpec,
    parts: Any,
    uri: str,
    name: str,
    history: History,
    state: TrialsState,
    obs: Sequence[Observation],
) -> bool:
    """Record ``obs`` as one round, appended to ``history``, and take them off ``state``'s
    open trials (see the module docstring); whether that finished the campaign."""
    recorder = _recorder(spec, parts, uri, name, resume=True)
    recorder.start({"pool": "lab"})
    try:
        steps = _steps(parts, history, recorder, history.last_round + 1)
        steps.planner = _Deaf()
        steps.record(obs, 0.0, 0.0, restamp=True)
        told = {o.spec.id for o in obs}
        state.open = [s for s in state.open if s.id not in told]
        write_state(recorder.client, recorder.run_id, state)
        if not state.open and parts.stop.budget_left(history) == 0:
            steps.finish()
            return True
        park(recorder)
        return False
    except BaseException as e:
        _failed(recorder, e)
        raise


def fail_worn_out(
    spec: KindSpec,
    parts: Any,
    uri: str,
    name: str,
    history: History,
    state: TrialsState,
    worn: Sequence[ExperimentSpec],
    stale_after: float,
    max_retries: int,
) -> bool:
    """Record the stale trials ``worn`` (:func:`perturbo.lab.stale.worn_out`) failed, each
    with the reason, as a ``tell --failed`` of them would; whether that finished the
    campaign."""
    obs = [
        Observation(
            s,
            Outcome(
                Status.FAILED,
                {},
                error=worn_out_reason(state, s.id, stale_after, max_retries),
                worker="lab",
            ),
        )
        for s in worn
    ]
    return record_trials(spec, parts, uri, name, history, state, obs)
