"""A lab campaign between rounds (a new user's report): its input files are kept with it, a
z rule needs its controls at start, a value told wrong can be corrected, the last round says
where the screen stands, and dropped genes are named."""

from __future__ import annotations

import re
from pathlib import Path

from loop_helpers import GENES, library, recorded, results, score, sheet_genes, start_args

from perturbo import tracking
from perturbo.cli import main
from perturbo.lab import read_pending


def _uri(tmp: Path) -> str:
    return f"sqlite:///{tmp}/lab.db"


def _tell(uri: str, path: Path | None = None, *extra: str) -> int:
    return main(["tell", "L", *([str(path)] if path else []), *extra, "--tracking-uri", uri])


def _flag(args: list[str], flag: str, value: str) -> list[str]:
    if flag in args:
        args[args.index(flag) + 1] = value
        return args
    return [*args, flag, value]


def test_the_library_and_lists_are_kept_with_the_campaign(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("G000\nG001\n")
    args = _flag(start_args(tmp_path, uri, rounds=3, batch=8), "--exclude", str(exclude))
    assert main(args) == 0
    lib = tmp_path / "lib.csv"
    moved = tmp_path / "moved"
    moved.mkdir()
    lib.rename(moved / "lib.csv")  # the library moved away (another machine, a new folder)
    exclude.unlink()
    genes = sheet_genes(tmp_path / "L-round1.csv")
    capsys.readouterr()
    assert _tell(uri, results(tmp_path / "r1.csv", genes)) == 0, capsys.readouterr().err
    assert len(recorded(uri)) == 8
    second = sheet_genes(tmp_path / "L-round2.csv")
    assert set(second) <= set(GENES) - {"G000", "G001"}

    library(tmp_path, [f"H{i:03d}" for i in range(40)])  # a new library at the old path
    exclude.write_text("\n".join(GENES) + "\n")  # and an exclude list that drops every gene
    capsys.readouterr()
    assert _tell(uri, results(tmp_path / "r2.csv", second)) == 0
    err = capsys.readouterr().err
    assert "warning" not in err, err
    third = sheet_genes(tmp_path / "L-round3.csv")
    assert len(third) == 8 and set(third) <= set(GENES) - {"G000", "G001"} - set(genes + second)
    rows = (tmp_path / "L-round3.csv").read_text()
    assert f"{third[0]}_1" in rows  # the guides come from the kept library


def test_a_campaign_without_kept_inputs_reads_the_paths(tmp_path, monkeypatch, capsys):
    """Started before inputs were kept: no lab/inputs.json, its steps read the files."""
    from perturbo.lab import frozen

    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)

    class _Forgetful(frozen.Inputs):
        def to_json(self) -> str:
            return "{}"

    monkeypatch.setattr(frozen, "Inputs", _Forgetful)
    assert main(start_args(tmp_path, uri, rounds=3, batch=8)) == 0
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib.csv").unlink()
    genes = sheet_genes(tmp_path / "L-round1.csv")
    capsys.readouterr()
    assert _tell(uri, results(tmp_path / "r1.csv", genes)) == 2
    assert "--library" in capsys.readouterr().err and recorded(uri) == []


def test_a_z_rule_without_controls_is_refused_at_start(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(_flag(start_args(tmp_path, uri), "--hit-rule", "z>=3")) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("perturbo: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert errors[0].startswith('perturbo: error: --hit-rule "z>=3"') and "--controls" in err
    assert [s.name for s in tracking.open_store(uri).list_campaigns()] == []


def test_a_value_told_wrong_names_the_gene_and_can_be_corrected(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri, rounds=2, batch=8)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    g = genes[0]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f"Gene,Score\n{g},0.2\n")
    assert _tell(uri, wrong) == 0
    fixed = results(tmp_path / "fixed.csv", genes[:3])
    capsys.readouterr()
    assert _tell(uri, fixed) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{g}: recorded 0.2, this file {score(g):g}" in err and "--correct" in err, err
    assert "r001-" not in err  # no internal ids
    assert _tell(uri, fixed, "--correct") == 0  # the command the message names
    store = tracking.open_store(uri)
    pending = read_pending(store.client, store.parent_run_id("L"))
    assert pending is not None and len(pending.told) == 3
    by_gene = {s.params["gene"]: s.id for s in pending.specs}
    assert pending.told[by_gene[g]].metrics["score"] == score(g)
    run = store.parent_run_id("L")
    kept = [f.path for f in store.client.list_artifacts(run, "lab")]
    assert any(re.match(r"lab/correction-r001-.*\.csv", p) for p in kept), kept
    assert _tell(uri, results(tmp_path / "all.csv", genes)) == 0
    told = {o.spec.params["gene"]: o.outcome.metrics["score"] for o in store.history("L")}
    assert told[g] == score(g)


def test_the_last_round_says_where_the_screen_stands(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(_flag(start_args(tmp_path, uri, rounds=2, batch=8), "--planner", "bo")) == 0
    for r in (1, 2):
        genes = sheet_genes(tmp_path / f"L-round{r}.csv")
        capsys.readouterr()
        assert _tell(uri, results(tmp_path / f"r{r}.csv", genes)) == 0
    err = capsys.readouterr().err
    assert "finished" in err and "hits in 16 genes tested (round 1:" in err, err
    assert "Still untested (24 genes)" in err, err
    store = tracking.open_store(uri)
    hist = store.client.get_metric_history(store.parent_run_id("L"), "remaining_hits")
    assert [m.step for m in hist] == [1, 2]


def test_dropped_genes_are_named_and_counted_as_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri, rounds=3, batch=8)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert _tell(uri, results(tmp_path / "a.csv", genes[:5])) == 0
    capsys.readouterr()
    assert _tell(uri, None, "--drop-failed") == 0
    err = capsys.readouterr().err
    names = ", ".join(genes[5:])
    assert f"marked 3 of round 1 failed (no result): {names}" in err, err
    assert f"recorded round 1: 5 results, 3 failed: {names}" in err, err
    store = tracking.open_store(uri)
    assert read_pending(store.client, store.parent_run_id("L")).round == 1


def test_a_lab_campaigns_name_taken_again_says_ask_and_tell_not_resume(
    tmp_path, monkeypatch, capsys
):
    """`perturbo resume` refuses lab campaigns, so the name clash must not send a user there."""
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri)) == 0
    capsys.readouterr()
    assert main(start_args(tmp_path, uri)) == 2
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "perturbo tell L FILE" in err, err
    assert "perturbo resume" not in err, err


def test_the_campaign_list_counts_dropped_genes_apart_from_those_that_ran(
    tmp_path, monkeypatch, capsys
):
    """`perturbo show` (the list) counts the experiments that gave a result, the failed ones
    said apart, as `perturbo show NAME` does; a store without the failed count lists all that
    ran, and its next round counts the failed from the history."""
    from perturbo.kinds.genetic.spec import KIND
    from perturbo.show import list_headline

    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri, rounds=3, batch=8)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert _tell(uri, results(tmp_path / "a.csv", genes[:5])) == 0
    assert _tell(uri, None, "--drop-failed") == 0
    store = tracking.open_store(uri)
    tags = store.summary("L").run_tags
    assert (tags["perturbo.n_ran"], tags["perturbo.n_failed"]) == ("8", "3")
    assert list_headline(KIND, store.summary("L")).endswith(" in 8 experiments (3 failed)")
    capsys.readouterr()
    assert main(["show", "--tracking-uri", uri]) == 0
    assert "3 failed" in capsys.readouterr().out

    store.client.delete_tag(store.parent_run_id("L"), "perturbo.n_failed")  # an older store
    assert list_headline(KIND, store.summary("L")).endswith(" in 8 experiments")
    second = sheet_genes(tmp_path / "L-round2.csv")
    assert _tell(uri, results(tmp_path / "b.csv", second)) == 0
    tags = store.summary("L").run_tags
    assert (tags["perturbo.n_ran"], tags["perturbo.n_failed"]) == ("16", "3")
    assert list_headline(KIND, store.summary("L")).endswith(" in 16 experiments (3 failed)")
