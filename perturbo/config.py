"""Settings: CLI flags, a TOML file and environment variables, merged and validated.

The one reader of environment variables in perturbo: :data:`ENVIRONMENT` lists each one (its
default, what it does), :func:`environment` reads them into one typed :class:`Environment`.
Everything below the entry points receives plain values. The process-wide settings (variables
MLflow and Ray read, torch's thread count) are computed here as data and applied only by the
process entry points (the CLI's ``main``, the worker and server mains, the composition root),
through :func:`apply_env` / :func:`set_torch_threads`
(``tests/architecture/test_environment.py`` holds every other module to that).

Precedence, highest first: a flag given on the command line, a key in the ``--config`` TOML
file, an environment variable, the default. Each kind declares its own pydantic model
(:attr:`perturbo.kindspec.KindSpec.config_model`) and this module merges and validates into it;
a validation error becomes one :class:`~perturbo.types.PerturboError` naming the field,
where it came from and the fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perturbo.config_env import (  # the environment half of the settings, re-exported
    ENVIRONMENT,
    MLFLOW_CLIENT_DEFAULTS,
    Environment,
    EnvVar,
    apply_env,
    env_differs,
    env_ray_address,
    env_tracking_uri,
    environment,
    llm_api_key,
    prepare_process,
    ray_driver_env,
    set_torch_threads,
    worker_env,
)
from perturbo.types import PerturboError

DEFAULT_DB = "mlflow.db"
"""The default tracking store: a sqlite file in the working directory (MLflow 3's own default,
so ``mlflow ui`` started in the same directory shows the campaigns)."""

M = TypeVar("M", bound=BaseModel)


def field_help(model: type[BaseModel], field: str, extra: str = "") -> str:
    """A flag's ``--help`` text from its settings field: the description, ``extra``, the
    default (one wording for every kind's flags)."""
    info = model.model_fields[field]
    return f"{info.description}{extra} (default: {info.default})"


def existing_file(value: str | None, what: str, fix: str) -> str | None:
    """``value`` as an absolute path (logged so that resume finds it from any directory), or
    a ``ValueError`` saying the ``what`` does not exist and ``fix`` (for settings validators)."""
    if value is None:
        return None
    p = Path(value).expanduser()
    if not p.is_file():
        raise ValueError(f"{what} {value!r} does not exist; {fix}")
    return str(p.resolve())


def default_tracking_uri(cwd: str | Path | None = None) -> str:
    """``sqlite:///<cwd>/mlflow.db`` with an absolute path, so a later ``cd`` does not lose it."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    return f"sqlite:///{(base / DEFAULT_DB).resolve()}"




class RunOptions(BaseModel):
    """Where and how a campaign runs (not part of what it is: not logged as its config)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="campaign name (= MLflow experiment)")
    tracking_uri: str | None = Field(None, description="MLflow tracking URI")
    address: str | None = Field(None, description="Ray cluster address to join")
    local: bool = Field(False, description="run in-process, without Ray")
    workers: int | None = Field(None, gt=0, description="number of parallel workers (actors)")
    progress: bool = Field(True, description="live progress display")
    schedule: Literal["sync", "async"] | None = Field(
        None, description="sync rounds or async refills (default: the kind's)"
    )
    experiment_timeout: float | None = Field(
        None,
        gt=0,
        description="seconds before a running experiment is FAILED (its worker replaced)",
    )

    def check(self) -> RunOptions:
        """Refuse settings that contradict each other (rather than ignore one of them)."""
        if self.local and self.address:
            raise PerturboError(
                f"--address {self.address} beside --local: --local runs in this process, without "
                "Ray; drop --local to run on that cluster, or drop --address"
            )
        return self

    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or env_tracking_uri() or default_tracking_uri()

    def resolved_address(self) -> str | None:
        return self.address or env_ray_address()


RUN_OPTION_KEYS = frozenset(RunOptions.model_fields)

_FIXES = {
    "greater_than": "use a positive number",
    "greater_than_equal": "use a larger number",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
    "bool_parsing": "use true or false",
    "extra_forbidden": "remove it or fix its spelling (`perturbo run KIND --help` lists the settings)",
    "missing": "set it",
}


def read_toml(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Parse a TOML config file; PerturboError naming the file on any problem."""
    p = Path(path)
    if not p.is_file():
        raise PerturboError(
            f"config file {str(p)!r} not found: pass an existing TOML file to --config"
        )
    try:
        with p.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise PerturboError(
            f"config file {str(p)!r} is not valid TOML ({e}): fix the syntax"
        ) from None
    # Allow both a flat file and one with [run] / [<kind>] tables.
    flat: dict[str, Any] = {}
    for k, v in data.items():
        if k in ("run", kind) and isinstance(v, dict):
            flat.update(v)
        else:
            flat[k] = v
    return flat


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def explain(e: ValidationError, sources: Mapping[str, str]) -> PerturboError:
    """One line per invalid field: the field, its source, what is wrong, the fix."""
    parts = []
    for err in e.errors():
        field = ".".join(str(x) for x in err["loc"]) or "config"
        top = str(err["loc"][0]) if err["loc"] else field
        src = sources.get(top, _flag(top))
        got = err.get("input")
        got_s = "" if err["type"] in ("missing",) or isinstance(got, dict) else f" (got {got!r})"
        fix = _FIXES.get(err["type"], "use a valid value")
        what = err["msg"].lower()
        if err["type"] == "literal_error":
            fix = f"use one of {err.get('ctx', {}).get('expected', 'the listed values')}"
            what = "not a known choice"
        elif err["type"] == "extra_forbidden":
            what = "unknown setting"
        elif err["type"] == "value_error" and "error" in err.get("ctx", {}):
            # a validator's own message already names the problem and its fix, verbatim
            parts.append(f"{field} from {src}: {err['ctx']['error']}")
            continue
        parts.append(f"{field} from {src}: {what}{got_s}; fix: {fix}")
    return PerturboError("invalid settings: " + " | ".join(parts))


def build_model(
    model: type[M],
    cli: Mapping[str, Any],
    toml: Mapping[str, Any] | None = None,
    toml_path: str | None = None,
) -> M:
    """Merge TOML values under CLI values and validate into ``model``.

    ``cli`` holds only the flags the user actually gave (argparse defaults are SUPPRESSed).
    """
    toml = dict(toml or {})
    merged = {**toml, **dict(cli)}
    sources = {k: f"{toml_path!r}" for k in toml}
    sources.update({k: _flag(k) for k in cli})
    try:
        return model.model_validate(merged)
    except ValidationError as e:
        raise explain(e, sources) from None


def split_run_options(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split merged settings into (RunOptions keys, kind keys)."""
    run = {k: v for k, v in values.items() if k in RUN_OPTION_KEYS}
    rest = {k: v for k, v in values.items() if k not in RUN_OPTION_KEYS and k != "kind"}
    return run, rest


def load(
    kind_model: type[M],
    cli: Mapping[str, Any],
    config_path: str | None = None,
    kind: str | None = None,
) -> tuple[RunOptions, M]:
    """Settings for one ``perturbo run KIND``: (where/how it runs, what it is). A TOML file may
    be flat or hold ``[run]`` and ``[KIND]`` tables."""
    toml = read_toml(config_path, kind) if config_path else {}
    t_run, t_kind = split_run_options(toml)
    c_run, c_kind = split_run_options(cli)
    options = build_model(RunOptions, c_run, t_run, config_path).check()
    kind = build_model(kind_model, c_kind, t_kind, config_path)
    return options, kind


__all__ = [
    "DEFAULT_DB",
    "ENVIRONMENT",
    "MLFLOW_CLIENT_DEFAULTS",
    "RUN_OPTION_KEYS",
    "EnvVar",
    "Environment",
    "RunOptions",
    "apply_env",
    "build_model",
    "default_tracking_uri",
    "env_differs",
    "env_ray_address",
    "env_tracking_uri",
    "environment",
    "existing_file",
    "explain",
    "field_help",
    "llm_api_key",
    "load",
    "prepare_process",
    "ray_driver_env",
    "read_toml",
    "set_torch_threads",
    "split_run_options",
    "worker_env",
]
