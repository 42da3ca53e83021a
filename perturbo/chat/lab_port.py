"""The lab loop as the chat's tools see it (:class:`~perturbo.agents.chat.lab_tools.LabPort`).

The chat agent may not import the lab loop or the kinds (they sit above it in the layers);
its front ends (terminal, web, MCP) build this port and hand it in, as they hand in the kind
catalog. Every call opens the campaign from the store, as ``perturbo ask`` / ``tell`` do.
"""

from __future__ import annotations

from typing import Any

from perturbo.agents.chat.lab_tools import LabPreview, LabView
from perturbo.types import PerturboError

__all__ = ["StoreLab"]


def _kind_of(name: str) -> Any:
    from perturbo import kinds

    return kinds.get(name)


def _text(params: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in params.values())


class StoreLab:
    """The lab campaigns of the store at ``tracking_uri``."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri

    def _is_lab(self, name: str) -> bool:
        from perturbo import tracking
        from perturbo.lab.pending import LAB_TAG

        return tracking.open_store(self.tracking_uri).summary(name).run_tags.get(LAB_TAG) == "1"

    def _view(self, step: Any) -> LabView:
        if step.pending is None:
            return LabView(step.campaign, "finished", None, (), tuple(step.lines))
        p = step.pending
        return LabView(
            step.campaign,
            p.line(),
            p.round,
            tuple(step.sheet),
            tuple(step.lines),
            tuple(_text(dict(s.params)) for s in p.waiting),
        )

    def pending(self, name: str) -> LabView | None:
        from perturbo import lab

        if not self._is_lab(name):
            return None
        return self._view(lab.ask(_kind_of, self.tracking_uri, name))

    def preview(self, name: str, path: str) -> LabPreview:
        """What telling ``path`` would record: read and checked by the kind's own reader
        against the pending batch (the checks ``perturbo tell`` makes), nothing recorded."""
        from perturbo import tracking
        from perturbo.lab import lab_side, read_pending

        if not self._is_lab(name):
            raise PerturboError(
                f"campaign {name!r} is not a lab campaign (its experiments ran in perturbo): "
                "nothing to tell it"
            )
        store = tracking.open_store(self.tracking_uri)
        pending = read_pending(store.client, store.parent_run_id(name))
        if pending is None:
            raise PerturboError(f"campaign {name!r} has no batch waiting for results")
        from perturbo.lab.frozen import with_inputs
        from perturbo.lab.stored import as_at_start
        from perturbo.lab.told import refuse_or_correct

        config = store.config(name)
        # the input files kept at start (a moved library must not break the preview)
        kept = getattr(as_at_start(self.tracking_uri, name), "lab_inputs", None)
        side = with_inputs(lab_side(_kind_of(str(config.get("kind", "")))), kept)
        told = side.read_results(config, path, pending.specs, store.history(name))
        # a value told before with another: refused, naming each gene with both values, as
        # `perturbo tell` does (nothing recorded)
        refuse_or_correct(side, None, "", name, path, pending, told, correct=False)
        by_id = {s.id: s for s in pending.specs}
        rows = [
            {**dict(by_id[k].params), **dict(o.metrics)}
            for k, o in told.items()
            if k not in pending.told
        ]
        left = [_text(dict(s.params)) for s in pending.waiting if s.id not in told]
        return LabPreview(
            name,
            pending.round,
            rows,
            left,
            hit_rule=str(config.get("hit_rule") or ""),
            told_before=len(pending.told),
        )

    def tell(self, name: str, path: str, next_batch: int | None) -> LabView:
        from perturbo import lab

        return self._view(lab.tell(_kind_of, self.tracking_uri, name, path, next_batch=next_batch))
