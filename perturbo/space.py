"""Search spaces for continuous, integer, categorical and conditional parameters.

A :class:`SearchSpace` is what the campaign validates every hyperparameter (or attack)
proposal against (it implements :class:`perturbo.protocols.Space`), what random and Sobol
planners sample from, and what BO and evolution see as a unit cube.

Define one in Python::

    space = SearchSpace([
        Float("lr", 1e-4, 1e-1, log=True),
        Int("width", 16, 256, log=True),
        Categorical("optimizer", ["adam", "sgd"]),
        Float("momentum", 0.0, 0.99, when={"optimizer": ["sgd"]}),
    ])

or from a TOML table (``SearchSpace.from_toml("space.toml")``)::

    [lr]
    type = "float"          # float | int | categorical
    low = 1e-4
    high = 0.1
    log = true
    [optimizer]
    type = "categorical"
    choices = ["adam", "sgd"]
    [momentum]
    type = "float"
    low = 0.0
    high = 0.99
    when = { optimizer = ["sgd"] }

A parameter with ``when`` is *conditional*: it is active only when each named parent takes
one of the listed values; inactive parameters are dropped from validated params. A parent is a
categorical or an int (a float almost never equals a listed value: refused).

Unit-cube encoding (:meth:`SearchSpace.encode` / :meth:`SearchSpace.decode`), one column per
parameter, in declaration order:

- ``Float``/``Int``: ``(v - low) / (high - low)``, on ``log`` scale where ``log=True``;
  ``Int`` decodes by rounding.
- ``Categorical``: the choice *index* scaled to ``[0, 1]``, i.e. ``i / (k - 1)``; columns listed
  in :attr:`SearchSpace.cat_dims` so models treat them as unordered (BoTorch's
  ``MixedSingleTaskGP`` compares categories for equality only). Decoding snaps to the
  nearest index. One column per categorical (not one-hot) keeps the cube small.
- An inactive conditional parameter encodes as its default (midpoint / first choice), so
  every row has the same width.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from perturbo.space_params import _TYPES, Categorical, Float, Int, Param, key_value
from perturbo.types import InvalidSpec, PerturboError


class SearchSpace:
    """An ordered set of parameters; implements :class:`perturbo.protocols.Space`.

    ``unique`` is False: the same config may run twice (noise, resumed runs), but planners
    avoid repeating pending configs.
    """

    unique = False

    def __init__(self, params: Sequence[Param]) -> None:
        params = list(params)
        if not params:
            raise PerturboError(
                "the search space has no parameters; define at least one (Float, Int or Categorical)"
            )
        names: dict[str, Param] = {}
        for p in params:
            if not isinstance(p, (Float, Int, Categorical)):
                raise PerturboError(f"search space entry {p!r} is not a Float, Int or Categorical")
            if p.name in names:
                raise PerturboError(
                    f"parameter {p.name!r} is defined twice; give each parameter a unique name"
                )
            for parent, vals in p.when:
                if parent not in names:
                    raise PerturboError(
                        f"parameter {p.name!r} depends on {parent!r}, which is not defined before it; "
                        f"define {parent!r} first (parents precede children)"
                    )
                par = names[parent]
                if isinstance(par, Float):
                    raise PerturboError(
                        f"parameter {p.name!r}: its `when` names {parent!r}, a float; a `when` "
                        f"parent must be a categorical or an int (a float rarely equals a listed "
                        f"value): make {parent!r} a categorical or an int, or remove the `when` "
                        f"of {p.name!r}"
                    )
                for v in vals:
                    try:
                        par.validate(v)
                    except InvalidSpec as e:
                        raise PerturboError(
                            f"parameter {p.name!r}: `when` value {v!r} is impossible: {e}"
                        ) from None
            names[p.name] = p
        self.params: tuple[Param, ...] = tuple(params)
        self._by_name = names

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, table: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        """Build from ``{name: {"type": ..., "low"/"high"/"log" | "choices", "when"}}``."""
        params: list[Param] = []
        for name, spec in table.items():
            if not isinstance(spec, Mapping):
                raise PerturboError(
                    f"parameter {name!r}: expected a table with a `type`, got {spec!r}; e.g. "
                    f'{{"type": "categorical", "choices": ["a", "b"]}} or '
                    f'{{"type": "float", "low": 0.001, "high": 1.0, "log": True}}'
                )
            spec = dict(spec)
            typ = str(spec.pop("type", "categorical" if "choices" in spec else "float")).lower()
            if typ not in _TYPES:
                raise PerturboError(
                    f"parameter {name!r}: unknown type {typ!r}; use float, int or categorical"
                )
            when = spec.pop("when", None)
            cls_ = _TYPES[typ]
            allowed = {"choices", "ordered"} if cls_ is Categorical else {"low", "high", "log"}
            extra = set(spec) - allowed
            if extra:
                raise PerturboError(
                    f"parameter {name!r}: unknown {'key' if len(extra) == 1 else 'keys'} "
                    f"{', '.join(map(repr, sorted(extra)))} for a {typ}; allowed: "
                    f"{', '.join(sorted(allowed | {'type', 'when'}))}"
                )
            missing = (
                {"choices"} - set(spec) if cls_ is Categorical else {"low", "high"} - set(spec)
            )
            if missing:
                raise PerturboError(f"parameter {name!r}: missing {sorted(missing)} for a {typ}")
            params.append(cls_(name, when=when, **spec))
        return cls(params)

    @classmethod
    def from_toml(cls, path: str | Path) -> SearchSpace:
        """Read a TOML file whose tables are parameters (or whose ``[space]`` table holds them)."""
        p = Path(path)
        if not p.is_file():
            raise PerturboError(
                f"search space file {str(p)!r} does not exist; pass the path of a TOML file"
            )
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as e:
            raise PerturboError(f"search space file {str(p)!r} is not valid TOML: {e}") from None
        if "space" in data and isinstance(data["space"], Mapping):
            data = data["space"]
        try:
            return cls.from_dict(data)
        except (PerturboError, InvalidSpec, ValueError) as e:
            raise PerturboError(f"search space file {str(p)!r}: {e}") from None

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The inverse of :meth:`from_dict` (JSON-serialisable, for configs and MLflow)."""
        out = {}
        for p in self.params:
            d = p.describe()
            if p.when:
                d["when"] = {k: list(v) for k, v in p.when}
            out[p.name] = d
        return out

    def describe(self) -> str:
        """One line per parameter, for humans and LLM prompts."""
        lines = []
        for p in self.params:
            d = p.describe()
            if isinstance(p, Categorical):
                s = f"{p.name}: one of {list(p.choices)}" + (" (ordered)" if p.ordered else "")
            else:
                s = f"{p.name}: {d['type']} in [{p.low:g}, {p.high:g}]" + (
                    " (log scale)" if p.log else ""
                )
            if p.when:
                s += " — only when " + " and ".join(f"{k} in {list(v)}" for k, v in p.when)
            lines.append(s)
        return "\n".join(lines)

    # -- properties -----------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def dim(self) -> int:
        return len(self.params)

    @property
    def cat_dims(self) -> tuple[int, ...]:
        """Columns of the encoding that hold unordered categoricals (for mixed GP kernels)."""
        return tuple(
            i for i, p in enumerate(self.params) if isinstance(p, Categorical) and not p.ordered
        )

    @property
    def discrete_dims(self) -> dict[int, list[float]]:
        """Column -> the cube values it can take, for every Int, ordered and unordered
        categorical column (the values decoding snaps to)."""
        out: dict[int, list[float]] = {}
        for i, p in enumerate(self.params):
            if isinstance(p, Categorical):
                out[i] = [p._to_unit(c) for c in p.choices]
            elif isinstance(p, Int):
                out[i] = (
                    [p._to_unit(v) for v in range(p.low, p.high + 1)]
                    if p.high - p.low < 10_000
                    else []
                )
        return out

    @property
    def int_dims(self) -> tuple[int, ...]:
        return tuple(i for i, p in enumerate(self.params) if isinstance(p, Int))

    @property
    def is_conditional(self) -> bool:
        return any(p.when for p in self.params)

    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return f"SearchSpace({list(self.params)!r})"

    # -- protocols.Space ------------------------------------------------------------------
    def active(self, params: Mapping[str, Any]) -> list[Param]:
        """Parameters active for ``params`` (parents resolved in declaration order)."""
        out, seen = [], {}
        for p in self.params:
            if p.active(seen):
                out.append(p)
                if p.name in params:
                    seen[p.name] = params[p.name]
        return out

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Normalised params (typed, inactive dropped) or :class:`InvalidSpec` with the reason."""
        if not isinstance(params, Mapping):
            raise InvalidSpec(
                f"params must be a mapping of parameter names to values, got {type(params).__name__}"
            )
        unknown = [k for k in params if k not in self._by_name]
        if unknown:
            raise InvalidSpec(
                f"unknown {'parameter' if len(unknown) == 1 else 'parameters'} "
                f"{', '.join(map(repr, unknown))}; the space has {', '.join(self.names)}"
            )
        out: dict[str, Any] = {}
        for p in self.params:
            if not p.active(out):
                continue  # inactive: drop whatever was given
            if p.name not in params:
                raise InvalidSpec(f"missing parameter {p.name!r}")
            out[p.name] = p.validate(params[p.name])
        return out

    def key(self, params: Mapping[str, Any]) -> str:
        """A config's identity: floats at ``KEY_DIGITS`` significant digits (narrower float
        ranges and categorical choices that would share a key are refused at construction)."""
        return json.dumps({k: key_value(params[k]) for k in sorted(params)}, sort_keys=True, default=str)  # fmt: skip

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        """``n`` configs drawn uniformly (on log scale where ``log``); configs whose key is in
        ``exclude`` are redrawn a few times (they only recur in small discrete spaces)."""
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        out: list[dict[str, Any]] = []
        keys = set(exclude)
        for _ in range(n):
            for _attempt in range(20):
                cfg = self.decode(rng.random(self.dim))
                k = self.key(cfg)
                if k not in keys:
                    break
            keys.add(k)
            out.append(cfg)
        return out

    # -- unit cube ---------------------------------------------------------------------------
    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Validated params -> point in ``[0, 1]^dim`` (see the module docstring), shape ``(dim,)``."""
        x = np.empty(self.dim)
        for i, p in enumerate(self.params):
            v = params.get(p.name, None)
            x[i] = p._to_unit(p.default if v is None else v)
        return x

    def encode_many(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Shape ``(len(configs), dim)``."""
        return np.array([self.encode(c) for c in configs]).reshape(len(configs), self.dim)

    def decode(self, x: Sequence[float]) -> dict[str, Any]:
        """A point of the cube -> valid params (ints rounded, categories snapped, inactive dropped)."""
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != self.dim:
            raise ValueError(f"expected a point of dimension {self.dim}, got {x.shape[0]}")
        out: dict[str, Any] = {}
        for p, u in zip(self.params, x, strict=True):
            if p.active(out):
                out[p.name] = p._from_unit(u)
        return out

    @property
    def is_discrete(self) -> bool:
        """True where every parameter is an Int or a Categorical (a finite grid)."""
        return not any(isinstance(p, Float) for p in self.params)

    def size(self) -> float:
        """Number of distinct configs (``inf`` with a Float; conditionals counted as if
        always active, an upper bound)."""
        n = 1.0
        for p in self.params:
            if isinstance(p, Float):
                return math.inf
            n *= len(p.choices) if isinstance(p, Categorical) else p.high - p.low + 1
        return n

    def grid(self) -> list[dict[str, Any]]:
        """Every config of a discrete space (deduplicated over inactive parameters)."""
        import itertools

        if not self.is_discrete:
            raise ValueError("grid() needs a space of Int and Categorical parameters only")
        values = [
            list(p.choices) if isinstance(p, Categorical) else list(range(p.low, p.high + 1))
            for p in self.params
        ]
        out: dict[str, dict[str, Any]] = {}
        for combo in itertools.product(*values):
            cfg = self.validate(dict(zip(self.names, combo, strict=True)))
            out.setdefault(self.key(cfg), cfg)
        return list(out.values())

    def neighbours(self, params: Mapping[str, Any], steps: int = 2) -> list[dict[str, Any]]:
        """Configs one parameter away from ``params``: every other choice of an unordered
        categorical, up to ``steps`` grid steps of an ordered one or an Int (Floats kept)."""
        base = dict(params)
        out = []
        for p in self.active(base):
            cur = base.get(p.name)
            if isinstance(p, Categorical):
                i = p.index(cur)
                idx = (
                    [j for j in range(len(p.choices)) if j != i]
                    if not p.ordered
                    else [
                        i + d for d in range(-steps, steps + 1) if d and 0 <= i + d < len(p.choices)
                    ]
                )
                alts = [p.choices[j] for j in idx]
            elif isinstance(p, Int):
                alts = [
                    cur + d for d in range(-steps, steps + 1) if d and p.low <= cur + d <= p.high
                ]
            else:
                continue
            for a in alts:
                cand = dict(base)
                cand[p.name] = a
                for q in self.params:  # a newly active child takes its default
                    if q.name not in cand and q.active(cand):
                        cand[q.name] = q.default
                try:
                    out.append(self.validate(cand))
                except InvalidSpec:
                    continue
        return out

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Round cube points to the ones their decoded params encode to, shape kept ``(..., dim)``.
        Inactive conditional columns are set to their default."""
        x = np.asarray(x, dtype=float)
        flat = x.reshape(-1, self.dim)
        return np.array([self.encode(self.decode(r)) for r in flat]).reshape(x.shape)


__all__ = ["Categorical", "Float", "Int", "Param", "SearchSpace"]
