"""Lab in the loop: campaigns whose experiments run outside perturbo (ask, tell, wait).

A lab campaign proposes a batch, records it as pending in the store and exits; the lab runs
it (days or weeks, no process alive) and ``perturbo tell`` records the results exactly once,
rebuilds the planner from the store and proposes the next batch. It sits between the kinds
(which hand it their :class:`~perturbo.kindspec.KindSpec`) and the composition root's checks;
it never imports a kind.
"""

from perturbo.lab.loop import LabStep, ask, lab_side, start, tell
from perturbo.lab.pending import Pending, read_pending

__all__ = ["LabStep", "Pending", "ask", "lab_side", "read_pending", "start", "tell"]
