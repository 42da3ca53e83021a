"""Post-install check of the embedded LLM: one tiny generation, in a child process.

``python -m perturbo.agents.llm_check`` (run by ``make install-dev``) loads the tiny
SmolLM2-135M model with llama.cpp and completes one short chat message. llama.cpp is native
code: built for the wrong CPU it dies with SIGSEGV or SIGILL rather than raising, so the
generation runs in a child process and a crash becomes one clear line and exit status 1
instead of a dead test run later.

:func:`run_in_child` is also what the test suite uses to run any test that loads a native
model, so a crash fails that one test with its signal.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["NativeCrash", "run_in_child", "tiny_generation", "main"]

_FIX = (
    "llama-cpp-python was built with instructions this CPU cannot run (or that crash on it). "
    "Rebuild it portable: "
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
    "pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python==0.3.36 "
    "(`make clean-venv test` does this)"
)


class NativeCrash(RuntimeError):
    """The child process died from a signal (or exited without a result)."""

    def __init__(self, what: str, exitcode: int | None) -> None:
        self.exitcode = exitcode
        if exitcode is not None and exitcode < 0:
            try:
                name = signal.Signals(-exitcode).name
            except ValueError:
                name = f"signal {-exitcode}"
            how = f"died with {name}"
        else:
            how = f"exited with status {exitcode} and no result"
        super().__init__(f"{what} {how}")


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def run_in_child(fn: Callable[..., Any], *args: Any, timeout_s: float = 300.0) -> Any:
    """``fn(*args)`` in a fresh (spawned) process; its return value must pickle.

    Raises :class:`NativeCrash` if the child dies from a signal, ``RuntimeError`` with the
    child's exception text if ``fn`` raised, ``TimeoutError`` past ``timeout_s``."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            if proc.is_alive():
                proc.kill()
                proc.join(5)
                raise TimeoutError(f"{getattr(fn, '__name__', fn)} ran past {timeout_s:.0f} s")
        try:
            status, value = parent.recv()
        except EOFError:
            proc.join(10)
            raise NativeCrash(getattr(fn, "__name__", "child"), proc.exitcode) from None
    finally:
        proc.join(10)
        parent.close()
    if status == "error":
        raise RuntimeError(value)
    return value


def tiny_generation(model: str = "smollm2-135m") -> str:
    """Load ``model`` and complete one short message; the generated text."""
    from perturbo.agents.llama_engine import EngineSettings, LlamaEngine

    engine = LlamaEngine(EngineSettings(model=model, n_threads=1))
    out = engine.chat([{"role": "user", "content": "Say hi."}], max_tokens=8, temperature=0.0)
    return str(out["choices"][0]["message"]["content"])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    model = args[0] if args else "smollm2-135m"
    try:
        text = run_in_child(tiny_generation, model, timeout_s=300)
    except NativeCrash as e:
        print(f"llm check: the embedded LLM ({model}) {e}. {_FIX}", file=sys.stderr)
        return 1
    except (RuntimeError, TimeoutError) as e:
        print(f"llm check: the embedded LLM ({model}) failed: {e}", file=sys.stderr)
        return 1
    print(f"llm check: {model} generated {text.strip()[:40]!r} on this CPU")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
