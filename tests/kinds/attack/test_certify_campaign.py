"""Every attack campaign ends with "certified >= L, attacked <= U" (issue 21 item 6): sound
on every built-in target at the default eps, logged to MLflow (final metrics and
``certified.csv``) and shown by ``perturbo show``; a model the bounds cannot read gets one
line and the campaign still ends; ``--certify`` picks the bound; the Pareto plot compares
only trials on the same samples (item 5)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from stores import *  # noqa: F403
from torch import nn

from perturbo.kinds.attack.report import Certificate, certify_campaign

EPOCHS = {"digits-cnn": 6, "digits-cnn-adv": 3, "wine-mlp": 60}


def _campaign(model: str, cache: Path, **kw: Any) -> Any:
    from perturbo.kinds.attack import attack_campaign

    settings = dict(samples=40, planner="random", trials=2, batch=2, methods="pgd", seed=1)
    settings.update(kw)
    return attack_campaign(model, cache_dir=str(cache), train_epochs=EPOCHS[model], **settings)


@pytest.mark.parametrize("name", ["digits-cnn", "digits-cnn-adv", "wine-mlp"])
def test_certified_below_attacked_on_every_builtin(name: str, attack_cache: Path) -> None:
    """At the default eps: the campaign's own certificate (IBP, then CROWN on the samples
    still standing) is <= its attacked bound, and CROWN on *every* correctly classified
    sample (broken ones too) certifies none the attack broke."""
    from perturbo.kinds.attack.campaign import LOADED

    history, worst = _campaign(name, attack_cache)
    cert: Certificate = worst.certificate
    assert cert is not None and not cert.skipped, cert and cert.line()
    assert cert.eps == 0.1 and cert.ran[0] == "ibp"
    assert cert.attacked_accuracy == pytest.approx(worst.accuracy())
    assert cert.certified_accuracy <= cert.attacked_accuracy
    assert cert.violations == 0
    assert f"certified >= {cert.certified_accuracy:.3f}" in cert.line()
    assert f"attacked <= {worst.accuracy():.3f}" in cert.line()

    target = next(iter(LOADED.values()))
    everyone = certify_campaign(
        target, worst.attacked, np.ones(len(worst.attacked), bool), 0.1, "linf", "crown"
    )
    assert not (everyone.certified & ~worst.robust).any()  # none certified that the attack broke
    assert (everyone.certified >= cert.certified).all()  # the campaign's bound is a subset
    if name == "wine-mlp":  # a real share certified: the check above is not vacuous
        assert everyone.certified.mean() > 0.2


def _fake_target(net: nn.Module, n: int = 12) -> Any:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 2, generator=g)
    y = net(x).argmax(1)
    return SimpleNamespace(model=net, x=x, y=y, lo=0.0, hi=1.0)


def _toy_net() -> nn.Module:
    """A 2-16-3 ReLU net with steep first-layer units: at eps 0.1 IBP certifies 29 of the 40
    points, CROWN 39."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3)).eval()
    with torch.no_grad():
        net[0].weight.mul_(6)
        net[0].bias.mul_(3)
    return net


def test_unsupported_layer_one_line_no_exception() -> None:
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3)).eval()
    t = _fake_target(net)
    c = certify_campaign(t, np.ones(12, bool), np.ones(12, bool), 0.05, "linf")
    assert "'Tanh' is not supported" in c.skipped and "certification skipped" in c.skipped
    assert "\n" not in c.line() and "certified: skipped" in c.line()
    assert "certified_accuracy" not in c.metrics() and c.metrics()["attacked_accuracy"] == 1.0
    l0 = certify_campaign(t, np.ones(12, bool), np.ones(12, bool), 2, "l0")
    assert "not l0" in l0.skipped


def test_modes_and_the_time_cap() -> None:
    """ibp < crown in what they certify here; off runs nothing; a spent cap leaves the open
    samples unbounded and says so; alpha runs after CROWN."""
    net = _toy_net()
    t = _fake_target(net, 40)
    n = len(t.y)
    everyone = np.ones(n, bool)
    ibp = certify_campaign(t, everyone, everyone, 0.1, "linf", "ibp")
    crown = certify_campaign(t, everyone, everyone, 0.1, "linf", "crown")
    alpha = certify_campaign(t, everyone, everyone, 0.1, "linf", "alpha")
    assert ibp.ran == ("ibp",) and crown.ran == ("ibp", "crown")
    assert alpha.ran == ("ibp", "crown", "alpha-crown")
    assert crown.certified.sum() > ibp.certified.sum()
    assert (alpha.certified >= crown.certified).all()
    assert {crown.by[i] for i in np.flatnonzero(crown.certified)} == {"ibp", "crown"}
    assert certify_campaign(t, everyone, everyone, 0.1, "linf", "off").skipped == "--certify off"
    capped = certify_campaign(t, everyone, everyone, 0.1, "linf", "auto", cap_s=0.0)
    assert capped.ran == ("ibp",) and capped.not_reached == int((~ibp.certified).sum())
    assert "time cap" in capped.line()
    rows = crown.csv().splitlines()
    assert rows[0].startswith("sample,status,certified,attacked_robust,bound,margin_lower,lips")
    assert len(rows) == n + 1 and all(r.split(",")[6] for r in rows[1:])  # Lipschitz per sample
    # a sample the attack broke is never given to CROWN, and a certified-and-broken one is a bug
    broken = everyone.copy()
    broken[np.flatnonzero(np.array(crown.by) == "crown")[0]] = False
    partial = certify_campaign(t, everyone, broken, 0.1, "linf", "crown")
    assert partial.violations == 0 and partial.certified.sum() == crown.certified.sum() - 1
    broken[np.flatnonzero(ibp.certified)[0]] = False
    assert "BUG: 1 certified" in certify_campaign(t, everyone, broken, 0.1, "linf").line()


def test_certify_setting_validated() -> None:
    from perturbo.kinds.attack.config import AttackConfig

    assert AttackConfig().certify == "auto"
    assert AttackConfig(certify="alpha").certify == "alpha"
    with pytest.raises(ValueError, match="certify"):
        AttackConfig(certify="bogus")


def test_recorded_campaign_logs_and_shows_the_certificate(
    store: str, attack_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recorded campaign: final metrics, ``certified.csv`` beside the plots, and ``perturbo
    show`` heads with the certified accuracy."""
    from perturbo.show import show
    from perturbo.tracking import MlflowStore

    _, worst = _campaign("wine-mlp", attack_cache, tracking_uri=store, name="cert-rec")
    cert = worst.certificate
    s = MlflowStore(store)
    summary = s.summary("cert-rec")
    m = summary.metrics
    assert m["final_certified_accuracy"] == pytest.approx(cert.certified_accuracy)
    assert m["final_attacked_accuracy"] == pytest.approx(worst.accuracy())
    assert m["final_n_between"] == cert.between.sum()
    assert m["final_n_certified_broken"] == 0 and m["final_certify_seconds"] > 0
    assert summary.params["certify"] == "auto"
    names = {p.rsplit("/", 1)[-1] for p in s.artifacts("cert-rec", "plots")}
    assert "certified.csv" in names
    capsys.readouterr()
    assert show("cert-rec", tracking_uri=store) == 0
    out = capsys.readouterr().out
    assert f"certified_accuracy = {cert.certified_accuracy:.4g}" in out.replace("\n", " ")


def _trial(i: int, samples: str, success: float, norm: float, passes: float) -> Any:
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    m = {"success_rate": success, "median_norm": norm, "passes": passes, "n_attacked": 8.0}
    spec = ExperimentSpec({"method": "pgd", "samples": samples}, "attack", f"t{i}", i // 3)
    return Observation(spec, Outcome(Status.COMPLETED, m))


def test_pareto_compares_only_trials_on_the_same_samples() -> None:
    """Under the cascade: the opening trials on every sample are drawn, the later ones on
    other subsets left out and counted; with no two trials on one subset, no plot."""
    from perturbo.kinds.attack.plots import pareto_plot, same_samples
    from perturbo.plots import PlotData

    opening = [_trial(i, "", 0.3 + 0.1 * i, 0.05, 1e4 * (i + 1)) for i in range(3)]
    later = [_trial(3, "ff", 0.9, 0.01, 10.0), _trial(4, "0f", 0.8, 0.02, 5.0)]
    group, others = same_samples(PlotData("c", opening + later))
    assert [o.spec.id for o in group] == ["t0", "t1", "t2"] and others == 2
    figs = pareto_plot(PlotData("c", opening + later))
    title = figs["pareto_front.png"].axes[0].get_title()
    assert "3 trials on the same 8 samples" in title and "2 trials" in title
    assert pareto_plot(PlotData("c", [opening[0], *later])) == {}
    no_cascade = same_samples(PlotData("c", opening))
    assert len(no_cascade[0]) == 3 and no_cascade[1] == 0


def test_campaign_on_an_unsupported_model_ends_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user's TorchScript model with a Tanh: the campaign runs and ends as usual, and its
    end report says in one line that Tanh stopped the certification."""
    from perturbo.kinds.attack import attack_campaign
    from perturbo.types import Status

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)).eval()
    x = torch.rand(40, 4)
    y = net(x).argmax(1)
    torch.jit.script(net).save(str(tmp_path / "tanh.pt"))
    np.savez(tmp_path / "tanh.npz", x=x.numpy(), y=y.numpy())
    history, worst = attack_campaign(
        str(tmp_path / "tanh.pt"),
        data=str(tmp_path / "tanh.npz"),
        input_range="0,1",
        samples=40,
        planner="random",
        trials=1,
        batch=1,
        methods="pgd",
    )
    assert [o.outcome.status for o in history] == [Status.COMPLETED]
    cert = worst.certificate
    assert "'Tanh' is not supported" in cert.skipped
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "certified: skipped" in line]
    assert len(said) == 1 and "Tanh" in said[0] and "Traceback" not in err
