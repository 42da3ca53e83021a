"""What every chat tool returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perturbo.agents.chat.actions import PendingAction

__all__ = ["ToolResult"]


@dataclass(frozen=True)
class ToolResult:
    """What a tool returns: ``text`` for people and models, ``data`` as JSON, an ``image``
    path (a plot), a ``pending`` action awaiting confirmation; ``ok=False`` for an error."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    image: str | None = None
    pending: PendingAction | None = None

    def for_model(self) -> str:
        return self.text if self.ok else f"ERROR: {self.text}"
