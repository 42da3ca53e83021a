"""A chat model made on first use, so the chat starts without one.

``/help``, ``/list`` and every slash command, and the questions the router settles from their
words alone, need no model; the embedded one is 1.1 GB and takes seconds to load (or is not
installed yet). A front end hands :class:`~perturbo.agents.chat.agent.ChatAgent` a
:class:`LazyModel` over its model factory; the agent calls :meth:`LazyModel.get` only where a
question needs the model, and a factory that fails (weights missing, no API key) is said then
as a :class:`ModelUnavailable` carrying the factory's own message (naming the fix)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perturbo.types import PerturboError

__all__ = ["LazyModel", "ModelUnavailable"]


class ModelUnavailable(PerturboError):
    """The chat model could not be made; the message says why and how to fix it."""


class LazyModel:
    """``make()``: the LangChain chat model, called on the first :meth:`get` (again after a
    failure: a model installed meanwhile is picked up). ``name``: what to call it before."""

    def __init__(self, make: Callable[[], Any], name: str = "") -> None:
        self._make = make
        self._model: Any = None
        self.name = name

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> Any:
        if self._model is None:
            try:
                self._model = self._make()
            except ModelUnavailable:
                raise
            except Exception as e:  # PerturboError naming the fix, or the backend's own
                raise ModelUnavailable(
                    str(e) if isinstance(e, PerturboError) else f"{type(e).__name__}: {e}"
                ) from e
        return self._model

    @property
    def model_name(self) -> str:
        m = self._model
        return str(getattr(m, "model_name", None) or getattr(m, "model", None) or self.name)
