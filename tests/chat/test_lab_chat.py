"""The chat's lab tools (issue 19 item 7): "what should we test next in L?" shows the pending
batch; a results file is previewed (genes, scores, hits under the campaign's rule, what stays
pending) and recorded exactly once only after the confirmation, which answers with the next
batch; MCP offers the batch read-only and telling behind the confirmation token."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from loop_helpers import recorded, results, score, sheet_genes, start_args  # noqa: E402

from perturbo.agents.chat.agent import ChatAgent, Facts, Pending, Step  # noqa: E402
from perturbo.cli import main  # noqa: E402
from perturbo.types import PerturboError  # noqa: E402


@pytest.fixture
def lab(tmp_path, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    """Lab campaign L (40 genes, batch 8, 2 rounds, hit rule score>=2) and the chat's tools."""
    from perturbo.chat.build import make_tools

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    capsys.readouterr()
    tools = make_tools(uri, local=True, workdir=tmp_path / "work")
    return tools, uri, tmp_path


def _events(agent: ChatAgent, text: str) -> list:
    return list(agent.respond(text))


def test_what_to_test_next_shows_the_pending_batch(lab):  # type: ignore[no-untyped-def]
    tools, uri, tmp = lab
    genes = sheet_genes(tmp / "L-round1.csv")
    agent = ChatAgent(None, tools, "grammar", prose_tokens=0)
    events = _events(agent, "what should we test next in L?")
    (step,) = [e for e in events if isinstance(e, Step)]
    assert step.name == "pending_batch" and step.how == "fixed"
    text = "\n".join(e.text for e in events if isinstance(e, Facts))
    assert "waiting for results of round 1: 8 genes" in text
    assert [g for g in genes if g in text] == genes  # every gene of the sheet, in its order
    assert text.index(genes[0]) < text.index(genes[-1])
    slash = tools.call("pending_batch", {"name": "L"})
    assert slash.data["waiting"] == genes and len(slash.data["sheet"]) == 8
    assert "pending_batch" in tools.names(False) and "tell_results" not in tools.names(False)


def test_results_are_previewed_then_recorded_once_on_confirm(lab):  # type: ignore[no-untyped-def]
    tools, uri, tmp = lab
    genes = sheet_genes(tmp / "L-round1.csv")
    results(tmp / "part.csv", genes[:5])  # part of the batch: 3 stay pending
    agent = ChatAgent(None, tools, "grammar", prose_tokens=0)
    events = _events(agent, "here are the results for L: part.csv")
    (pending,) = [e for e in events if isinstance(e, Pending)]
    text = "\n".join(e.text for e in events if isinstance(e, Facts))
    hits = [g for g in genes[:5] if score(g) >= 2]
    assert f"5 results to record (hit rule score>=2), {len(hits)} hits; 3 of the batch" in text
    assert all(g in text for g in genes[5:])  # what stays pending is named
    assert recorded(uri) == [] and "perturbo tell L" in pending.command

    said = tools.launcher.confirm(pending.token)
    assert "told 5 result(s) of round 1" in said and "3 to come" in said
    # the same batch still waits for 3 genes: not headed as the next one
    assert "Still waiting (the same batch, round 1)" in said and "Next batch" not in said, said
    assert recorded(uri) == []  # a partial round is not a round yet
    with pytest.raises(PerturboError, match="no pending action"):
        tools.launcher.confirm(pending.token)  # a token runs once

    full = results(tmp / "full.csv", genes)
    res = tools.call("tell_results", {"name": "L", "results": "full.csv"})
    assert res.ok and res.pending is not None and "3 results to record" in res.text
    declined = tools.call("tell_results", {"name": "L", "results": "full.csv"})
    tools.launcher.decline(declined.pending.token)
    said = tools.launcher.confirm(res.pending.token)
    assert [g for _, g in recorded(uri)] == genes  # round 1 recorded once, in sheet order
    assert (
        "recorded round 1: 8 results" in said
        and "Next batch: waiting for results of round 2" in said
    )
    nxt = tools.call("pending_batch", {"name": "L"}).data["waiting"]
    assert len(nxt) == 8 and not set(nxt) & set(genes) and all(g in said for g in nxt)

    # the file changed after its preview: refused, nothing recorded
    r2 = results(tmp / "r2.csv", nxt)
    res = tools.call("tell_results", {"name": "L", "results": "r2.csv"})
    r2.write_text("Gene,Score\n" + "".join(f"{g},9\n" for g in nxt))
    with pytest.raises(PerturboError, match="changed since it was previewed"):
        tools.launcher.confirm(res.pending.token)
    assert len(recorded(uri)) == 8 and full.exists()


def test_bad_results_are_one_clear_line_and_nothing_pending(lab):  # type: ignore[no-untyped-def]
    tools, uri, tmp = lab
    (tmp / "bad.csv").write_text("Gene,Score\nNOT_IN_BATCH,1.0\n")
    res = tools.call("tell_results", {"name": "L", "results": "bad.csv"})
    assert not res.ok and "NOT_IN_BATCH" in res.text and not tools.launcher.pending
    res = tools.call("tell_results", {"name": "L", "results": "/etc/passwd"})
    assert not res.ok and not tools.launcher.pending  # no file outside the working folder
    res = tools.call("tell_results", {"name": "L"})
    assert not res.ok and "Upload" in res.text
    assert recorded(uri) == []


def test_mcp_offers_the_batch_and_tells_behind_the_token(lab):  # type: ignore[no-untyped-def]
    import anyio

    from perturbo.chat.mcp_server import build_server

    tools, uri, tmp = lab
    genes = sheet_genes(tmp / "L-round1.csv")
    csv_text = "Gene,Score\n" + "".join(f"{g},{score(g)!r}\n" for g in genes)

    async def go() -> None:
        ro = build_server(tools, allow_launch=False)
        names = {t.name for t in await ro.list_tools()}
        assert "pending_batch" in names and "tell_results" not in names
        server = build_server(tools, allow_launch=True)
        names = {t.name for t in await server.list_tools()}
        assert {"pending_batch", "tell_results", "confirm_action"} <= names
        out = await server.call_tool("pending_batch", {"name": "L"})
        assert genes[0] in str(out)
        out = str(await server.call_tool("tell_results", {"name": "L", "results": csv_text}))
        assert "8 results to record" in out and recorded(uri) == []
        (token,) = list(tools.launcher.pending)
        done = str(await server.call_tool("confirm_action", {"token": token}))
        assert "recorded round 1" in done

    anyio.run(go)
    assert [g for _, g in recorded(uri)] == genes


def test_a_preview_reads_the_kept_library_and_names_a_changed_value(lab):  # type: ignore[no-untyped-def]
    """The chat's preview reads the files kept at start (a moved library broke it) and a value
    told before with another value names the gene and both values, as `perturbo tell` does."""
    tools, uri, tmp = lab
    genes = sheet_genes(tmp / "L-round1.csv")
    (tmp / "wrong.csv").write_text(f"Gene,Score\n{genes[0]},0.2\n")
    assert main(["tell", "L", str(tmp / "wrong.csv"), "--tracking-uri", uri]) == 0
    for f in tmp.glob("*.csv"):  # the library and lists moved away after the start
        if f.name.startswith("lib"):
            f.rename(tmp / f"moved-{f.name}")
    results(tmp / "fixed.csv", genes[:2])
    res = tools.call("tell_results", {"name": "L", "results": "fixed.csv"})
    assert not res.ok and f"{genes[0]}: recorded 0.2, this file" in res.text, res.text
    results(tmp / "rest.csv", genes[1:3])
    res = tools.call("tell_results", {"name": "L", "results": "rest.csv"})
    assert res.ok and res.pending is not None, res.text
