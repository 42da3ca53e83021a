"""A third chat question set, written by the lead at the end of the session, after the chat's
work was done, by someone who had not read the router or the chat's tools, and never shown
to whoever tuned the chat: 16 questions in other words than the two earlier sets (statuses,
totals over the store, the winner by a criterion, settings asked indirectly, a launch with
its settings). It reuses the held-out set's scorer and store reading
(:mod:`chat_heldout`): expected figures come from the store, never typed in.

    questions(store_or_uri) -> list[Question]
"""

from __future__ import annotations

from typing import Any

from chat_heldout import (  # type: ignore[import-not-found]
    BATCH_POST,
    BATCH_PRE,
    NOT_FOUND,
    Question,
    campaigns,
    near,
    num,
    ratio,
    round_ref,
    score,
    setting,
)

__all__ = ["questions", "score"]


def questions(store: Any) -> list[Question]:
    (br, bs, sr, sb, at), everyone = campaigns(store)
    q = Question

    bo_rounds = [int(m.get("hits_round", 0)) for m in sb.rounds]
    best_round = bo_rounds.index(max(bo_rounds)) + 1
    lowest = min((br, bs), key=lambda c: c.best_value)
    genetic_total = len(sr.hits) + len(sb.hits)
    n_attack = len(at.history)
    random_hits = sorted(sr.hits)
    n_campaigns = len(everyone)
    last_ratio = sr.rounds[-1]["hit_ratio"]
    norm = setting(at, "norm")
    return [
        q("remind me which random seed the sobol search ran with", (), "settings",
          patterns=(near(setting(bs, "seed"), pre="seed"),)),
        q(f"{sr.name}: genes per batch?", (), "settings",
          patterns=(near(setting(sr, "batch"), pre=BATCH_PRE, post=BATCH_POST + "|genes"),)),
        q("the genetic campaign that used BO - what screen was it on", (setting(sb, "screen"),),
          "settings"),
        q("attack campaign: what epsilon and what norm?", (), "settings",
          patterns=(near(setting(at, "eps"), pre=r"eps(?:ilon)?|ε"),),
          any_of=(("linf", "l-inf", "l_inf", "l∞", "infinity") if norm == "linf" else (norm,),)),
        q("name the hit genes from the random screen", tuple(random_hits[:3]), "hits"),
        q(f"in {sb.name}, which round was the most productive in hits?", (), "per-round",
          patterns=(round_ref(best_round, best_round == len(bo_rounds)),)),
        q("between the two branin searches, which one reached the lowest value?",
          (lowest.name,), "comparison", any_of=(num(lowest.best_value),)),
        q("add up the hits of both genetic campaigns for me", (), "comparison",
          any_of=((str(genetic_total),),)),
        q("how many trials were run in the attack campaign altogether?", (), "counts",
          any_of=((str(n_attack),),)),
        q("how many campaigns do I have recorded?", (), "counts", any_of=((str(n_campaigns),),)),
        q("is the sobol campaign still running or done?", (), "status",
          any_of=(("finished", "done", "completed", "complete"),)),
        q("hit ratio reached by bench-screen-random by the end?", (), "per-round",
          any_of=(ratio(last_ratio),)),
        q("what happened in bench-screen-thompson?", ("bench-screen-thompson",), "unknown",
          any_of=(NOT_FOUND,)),
        q("give me the numbers for campaign hpo-cifar-resnet", ("hpo-cifar-resnet",), "unknown",
          any_of=(NOT_FOUND,)),
        q("which attack methods did the attack campaign try?", (), "attack",
          any_of=(tuple(str(m).lower() for m in (at.config.get("methods") or ["pgd"])),)),
        q("start a new genetic screen on IL2 with the random planner, 3 rounds of 24 genes",
          ("IL2",), "launch", launches=True, any_of=(("24",), ("3",))),
    ]  # fmt: skip
