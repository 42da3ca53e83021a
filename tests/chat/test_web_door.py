"""``perturbo chat --web`` is no door (issue 17 item 1) and never hangs (issue 16): real HTTP to
a real uvicorn server on 127.0.0.1, sent as an attacker would (a foreign ``Host`` after DNS
rebinding, another site's ``Origin``, no or a wrong token, the issue's user-code launch); an
answer streams, ends with a message at its time limit, and SIGTERM stops the server in about a
second with an answer still running."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/stores.py

from stores import copy_store  # noqa: E402

TOKEN = "t0ken-" + "x" * 26


class Reply:
    """A fake agent: each question yields a fact, waits ``pause`` s, then is done; with
    ``block`` set it hangs like a model that never finishes (until ``release`` is set)."""

    def __init__(self, pause: float = 0.0, block: bool = False) -> None:
        self.pause, self.block = pause, block
        self.release = threading.Event()

    def respond(self, text: str) -> Iterator[Any]:
        from perturbo.agents.chat.agent import Done, Facts

        yield Facts(f"first fact about {text}")
        if self.block:
            self.release.wait(60)
        time.sleep(self.pause)
        yield Done("done", self.pause)


class Tools:
    """What the page's other endpoints ask of the tools (no store needed for the door)."""

    plots_dir = Path("/nonexistent")

    def __init__(self) -> None:
        self.launcher = None

    def call(self, name: str, args: dict[str, Any]) -> Any:
        from perturbo.agents.chat.tools import ToolResult

        return ToolResult("0 campaigns", {"campaigns": []})


RESET = -1
"""A request the server refused by closing the connection (h11 answers a request without a
Host 400 and closes before reading its body: the unread bytes make the kernel send a reset,
and now and then it reaches the client before the 400 does)."""


class Served:
    """A real uvicorn server on 127.0.0.1 (an ephemeral port) in a thread."""

    def __init__(self, app_args: dict[str, Any]) -> None:
        import uvicorn

        from perturbo.chat.web import _bind, create_app

        self.sock = _bind(0)
        self.port = int(self.sock.getsockname()[1])
        app = create_app(token=TOKEN, port=self.port, **app_args)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        deadline = time.time() + 60
        while not self.server.started:
            assert time.time() < deadline and self.thread.is_alive()
            time.sleep(0.02)

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, str]:
        """``headers`` exactly as sent (Host included: None leaves it out)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        data = json.dumps(body).encode() if body is not None else b""
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        try:
            r = conn.getresponse()
            text = r.read().decode()
        except ConnectionResetError:  # the server closed without reading what was sent
            return RESET, "connection reset by the server"
        finally:
            conn.close()
        return r.status, text

    def own(self, **extra: str) -> dict[str, str]:
        return {"Host": f"127.0.0.1:{self.port}", "X-Perturbo-Token": TOKEN, **extra}

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served({"agent": Reply(), "tools": Tools(), "hosts": ("my-tunnel.example",)})
    yield s
    s.close()


def test_own_host_origin_and_token_are_let_in(served: Served) -> None:
    port = served.port
    assert served.request("GET", "/api/campaigns", served.own())[0] == 200
    for host in (f"localhost:{port}", "localhost", f"[::1]:{port}", f"MY-TUNNEL.example:{port}"):
        assert served.request("GET", "/api/campaigns", served.own(Host=host))[0] == 200, host
    origin = {"Origin": f"http://127.0.0.1:{port}"}
    assert served.request("GET", "/api/campaigns", served.own(**origin))[0] == 200
    status, page = served.request("GET", f"/?token={TOKEN}", {"Host": f"127.0.0.1:{port}"})
    assert status == 200 and "X-Perturbo-Token" in page  # the page sends the token back


ATTACKS = {
    "foreign Host (DNS rebinding)": {"Host": "evil.example"},
    "foreign Host with our port": {"Host": "evil.example:{port}"},
    "a look-alike Host": {"Host": "127.0.0.1.evil.example:{port}"},
    "a localhost subdomain Host": {"Host": "localhost.evil.example"},
    "no Host": {"Host": None},
    "a rebinding-style Origin": {"Origin": "http://evil.example:{port}"},
    "another local site's Origin": {"Origin": "http://127.0.0.1:{other}"},
    "an https Origin": {"Origin": "https://127.0.0.1:{port}"},
    "a null Origin (sandboxed frame)": {"Origin": "null"},
    "no token": {"X-Perturbo-Token": None},
    "a wrong token": {"X-Perturbo-Token": "guess"},
    "the token's prefix": {"X-Perturbo-Token": TOKEN[:-1]},
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_every_attack_is_answered_403(served: Served, attack: str) -> None:
    """Each endpoint, each attack: 403, and the agent never ran."""
    port = served.port
    headers: dict[str, str] = {}
    for k, v in {**served.own(), **ATTACKS[attack]}.items():
        if v is not None:
            headers[k] = v.format(port=port, other=port + 1)
    for method, path, body in (
        ("GET", "/api/campaigns", None),
        ("POST", "/api/chat", {"message": "/list"}),
        ("POST", "/api/confirm", {"token": "abc", "yes": True}),
        ("GET", "/api/plot?path=/etc/passwd", None),
    ):
        status, text = served.request(method, path, headers, body)
        # HTTP/1.1 needs a Host: h11 says 400, or resets (RESET); never served either way
        refused = (400, 403, RESET) if attack == "no Host" else (403,)
        assert status in refused, (attack, path, status, text)
        assert "first fact" not in text


def test_the_token_in_a_url_opens_the_page_only(served: Served) -> None:
    host = {"Host": f"127.0.0.1:{served.port}"}
    assert served.request("GET", "/", host)[0] == 403  # no token
    assert served.request("GET", "/?token=guess", host)[0] == 403
    status, text = served.request("GET", "/", {**host, "X-Perturbo-Token": TOKEN})
    assert status == 200
    # an API call with the token only in its URL (an <img> or a form another page made) is not let in
    assert served.request("GET", f"/api/campaigns?token={TOKEN}", host)[0] == 403
    assert served.request("GET", f"/?token={TOKEN}", {"Host": "evil.example"})[0] == 403


@pytest.mark.slow
def test_the_issues_attack_chain_is_refused(tmp_path: Path, mlflow_template: Path) -> None:
    """Issue 17's chain: a rebinding page posts a user-code launch to /api/chat, reads the
    token, confirms. Refused at the door; and with the session's own token the launch itself is
    refused (the chat never launches user code): nothing pending, nothing written."""
    from perturbo.agents.chat.agent import ChatAgent
    from perturbo.chat.build import make_tools

    uri = copy_store(mlflow_template, tmp_path / "store")
    tools = make_tools(uri, local=True, workdir=tmp_path / "work")
    tools.launcher.python = "/bin/false"  # were anything started, nothing would run
    s = Served({"agent": ChatAgent(None, tools), "tools": tools})
    try:
        launch = "/launch hyperparameter task=subprocess:run allow_user_code=true trials=2"
        rebind = {"Host": f"evil.example:{s.port}", "Origin": f"http://evil.example:{s.port}"}
        status, text = s.request("POST", "/api/chat", rebind, {"message": launch})
        assert status == 403 and "token" not in json.dumps(tools.launcher.pending)
        status, text = s.request("POST", "/api/chat", s.own(), {"message": launch})
        lines = [json.loads(x) for x in text.splitlines()]
        facts = " ".join(x.get("text", "") for x in lines if x["type"] == "facts")
        assert status == 200 and "command line" in facts, facts
        assert not [x for x in lines if x["type"] == "pending"] and not tools.launcher.pending
        status, text = s.request("POST", "/api/confirm", s.own(), {"token": "ab" * 11, "yes": True})
        assert status == 200 and "no pending action" in text
        assert not tools.launcher.jobs
        assert not list((tmp_path / "work").glob("*")) if (tmp_path / "work").exists() else True
    finally:
        s.close()


def _lines(served: Served, message: str) -> list[tuple[float, dict[str, Any]]]:
    """The answer's JSON lines, each with the seconds since the question was sent."""
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=120)
    data = json.dumps({"message": message}).encode()
    t0 = time.monotonic()
    conn.request(
        "POST",
        "/api/chat",
        data,
        {**served.own(), "Content-Type": "application/json"},
    )
    r = conn.getresponse()
    assert r.status == 200
    out = []
    while line := r.readline():
        out.append((time.monotonic() - t0, json.loads(line)))
    conn.close()
    return out


def test_an_answer_streams() -> None:
    s = Served({"agent": Reply(pause=1.5), "tools": Tools()})
    try:
        got = _lines(s, "hello")
    finally:
        s.close()
    kinds = [d["type"] for _, d in got]
    assert kinds == ["facts", "done", "end"], kinds
    first, done = got[0][0], got[1][0]
    assert done - first > 1.0, f"the first fact came at {first:.2f}s, the end at {done:.2f}s"


def test_an_answer_past_its_time_limit_ends_with_a_message() -> None:
    agent = Reply(block=True)
    s = Served({"agent": agent, "tools": Tools(), "answer_timeout": 1.0})
    try:
        got = _lines(s, "a question the model never finishes")
        assert [d["type"] for _, d in got] == ["facts", "timeout", "end"]
        assert (
            "no answer within 1 s" in got[1][1]["text"] and "--answer-timeout" in got[1][1]["text"]
        )
        assert got[-1][0] < 30  # measured: ~1 s
        again = _lines(s, "next question")  # the model is still busy with the first
        assert [d["type"] for _, d in again] == ["timeout", "end"]
        assert "previous answer is still running" in again[0][1]["text"]
        agent.release.set()
        time.sleep(0.5)
        assert [d["type"] for _, d in _lines(s, "now")][-2:] == ["done", "end"]
    finally:
        agent.release.set()
        s.close()


SERVE = """
import sys, threading
sys.path.insert(0, {tests!r})
from chat.test_web_door import Reply, Tools
from perturbo.chat.web import serve
serve(Tools(), {{}}, port=0, agent=Reply(block=True), answer_timeout=600)
"""


def _start_and_ask(cmd: list[str], log: Path, env: dict[str, str], wait_s: float) -> Any:
    """Start a web chat, read its URL, post a question (left running); (proc, url)."""
    out = open(log, "w+")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + wait_s
    while not (m := re.search(r"open (http://127\.0\.0\.1:(\d+)/\?token=(\S+))", log.read_text())):
        assert proc.poll() is None and time.time() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    port, token = int(m.group(2)), m.group(3)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"message": "summarise the branin campaign"})
    conn.request(
        "POST",
        "/api/chat",
        body,
        {"X-Perturbo-Token": token, "Content-Type": "application/json"},
    )
    return proc, conn.getresponse()


def _sigterm_seconds(proc: subprocess.Popen[bytes]) -> float:
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return time.monotonic() - t0


def test_sigterm_stops_the_server_with_an_answer_running(tmp_path: Path) -> None:
    """A model stuck mid-answer and an open stream do not hold the server: gone in ~1 s."""
    script = tmp_path / "serve.py"
    script.write_text(SERVE.format(tests=str(Path(__file__).resolve().parents[1])))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc, answer = _start_and_ask([sys.executable, str(script)], tmp_path / "log", env, 120)
    assert json.loads(answer.readline())["type"] == "facts"  # the answer is under way
    seconds = _sigterm_seconds(proc)
    print(f"web chat gone {seconds:.2f}s after SIGTERM (an answer running)")
    assert seconds < 3.0, (seconds, (tmp_path / "log").read_text()[-2000:])
    assert "stopping (SIGTERM)" in (tmp_path / "log").read_text()


@pytest.mark.slow
def test_perturbo_chat_web_stops_on_sigterm(tmp_path: Path, mlflow_template: Path) -> None:
    """The real command on the embedded tiny model: SIGTERM just after a question."""
    uri = copy_store(mlflow_template, tmp_path / "store")
    perturbo = str(Path(sys.executable).with_name("perturbo"))
    cmd = [perturbo, "chat", "--web", "--port", "0", "--tracking-uri", uri, "--local",
           "--llm-model", "smollm2-135m", "--llm-threads", "1", "--workdir", str(tmp_path / "w")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc, answer = _start_and_ask(cmd, tmp_path / "log", env, 400)
    assert answer.status == 200
    time.sleep(0.5)  # the answer is running (routing, a tool, the model's prose)
    seconds = _sigterm_seconds(proc)
    print(f"perturbo chat --web gone {seconds:.2f}s after SIGTERM")
    assert seconds < 3.0, (seconds, (tmp_path / "log").read_text()[-2000:])
