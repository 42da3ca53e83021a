"""``--hit-rule`` is parsed before the controls are asked for: a rule that is no rule gets the
forms, and a z rule without ``--controls`` says how it was read (``<`` is read as ``<=``)."""

from __future__ import annotations

from loop_helpers import start_args

from perturbo.cli import main


def _start(tmp_path, rule: str) -> list[str]:
    args = start_args(tmp_path, f"sqlite:///{tmp_path}/lab.db")
    args[args.index("--hit-rule") + 1] = rule
    return args


def test_a_z_rule_without_controls_says_how_it_was_read(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(_start(tmp_path, "z<-2")) == 2
    err = capsys.readouterr().err
    assert '--hit-rule "z<-2" (read as: a gene is a hit when z against the controls <= -2)' in err
    assert "pass --controls" in err and "Traceback" not in err


def test_a_malformed_z_rule_gets_the_forms_not_the_controls(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    for rule in ("z<<-2", "z=-2", "z<--2"):
        assert main(_start(tmp_path, rule)) == 2
        err = capsys.readouterr().err
        assert f"--hit-rule '{rule}': not a hit rule; use" in err, err
        assert "--controls (a file" not in err, err
