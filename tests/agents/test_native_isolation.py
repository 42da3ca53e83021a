"""A native crash fails one test, never the run: the ``native`` marker (tests/conftest.py)
runs a test in a child pytest, and :func:`perturbo.agents.llm_check.run_in_child` runs a
function in a spawned process; a SIGSEGV in either comes back as a failure naming it."""

from __future__ import annotations

import os
import signal

import pytest

from perturbo.agents.llm_check import NativeCrash, run_in_child


def _segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _square(x: int) -> int:
    return x * x


def _raise() -> None:
    raise ValueError("bad model file")


def test_run_in_child_returns_the_value() -> None:
    assert run_in_child(_square, 7, timeout_s=120) == 49


def test_a_crash_in_the_child_is_named_not_fatal() -> None:
    with pytest.raises(NativeCrash, match="SIGSEGV"):
        run_in_child(_segfault, timeout_s=120)


def test_an_exception_in_the_child_comes_back_as_text() -> None:
    with pytest.raises(RuntimeError, match="ValueError: bad model file"):
        run_in_child(_raise, timeout_s=120)


def test_native_marker_turns_a_segfault_into_one_failed_test(pytester: pytest.Pytester) -> None:
    """An inner suite: a crashing native test fails, and the test after it still runs."""
    pytester.makeconftest(open(os.path.join(os.path.dirname(__file__), "..", "conftest.py")).read())
    pytester.makepyfile(
        test_inner="""
import os, signal, pytest

@pytest.mark.native
def test_crashes():
    os.kill(os.getpid(), signal.SIGSEGV)

@pytest.mark.native
def test_fine_in_child():
    assert os.environ.get("PERTURBO_NATIVE_CHILD") == "1"

def test_after():
    assert True
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*died with SIGSEGV*"])


@pytest.mark.slow
@pytest.mark.llm
def test_the_install_check_generates_on_this_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m perturbo.agents.llm_check` (run by `make install-dev`): the real tiny model
    generates in a child process on this machine's CPU; exit 0 and what it said."""
    from perturbo.agents.llm_check import main

    assert main([]) == 0
    assert "generated" in capsys.readouterr().out
