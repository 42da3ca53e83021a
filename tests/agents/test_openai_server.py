"""The ``openai`` backend, offline: a local OpenAI-compatible server (``python -m
llama_cpp.server`` serving SmolLM2 on 127.0.0.1) started here and stopped by its PID."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from agent_helpers import Ranker

from perturbo.agents.llm import LLMSettings, make_chat_model
from perturbo.agents.weights import resolve_local_model
from perturbo.kinds.genetic.agent.genetic import GeneticAgentPlanner

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):  # type: ignore[no-untyped-def]
    pytest.importorskip("sse_starlette", reason="llama_cpp.server needs llama-cpp-python[server]")
    port = _free_port()
    model = resolve_local_model("smollm2-135m").path
    log = tmp_path_factory.mktemp("server") / "server.log"
    log_f = log.open("wb")  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "1",
        ],
        stdout=log_f,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                    json.load(r)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()  # by its PID, nothing else
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_f.close()


@pytest.mark.parametrize("method", ["json_mode", "function_calling"])
def test_agent_round_against_a_local_openai_server(server_url, screen, knowledge, method) -> None:  # type: ignore[no-untyped-def]
    llm = make_chat_model(
        LLMSettings(
            backend="openai",
            base_url=server_url,
            model="smollm2",
            max_tokens=80,
            timeout_s=120,
            max_retries=0,
        )
    )
    planner = GeneticAgentPlanner(
        screen.genes,
        screen.task,
        llm,
        knowledge=knowledge,
        ranker=Ranker(screen.genes),
        max_repairs=1,
        method=method,
    )
    specs = planner.ask(5, [])
    assert len({s.params["gene"] for s in specs}) == 5
    call = planner.last_trace.calls[0]
    assert not call.failure, call.failure  # the server answered every turn
    assert call.input_tokens > 0 and call.answers  # token usage came back over HTTP
    if method == "function_calling":  # a forced tool call: the server constrains its arguments
        assert call.parsed[0]
    # a tiny model may still answer badly: then the batch is marked fallback, never lost
    assert {s.planner for s in specs} <= {"agent", "fallback"}
