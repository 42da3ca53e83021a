"""The chat's held-out questions: written after the chat's router, by someone who did not read
it (nothing under ``agents/chat/`` was opened), as a scientist would type them: paraphrases,
typos, follow-ups that name a campaign by what it is ("the sobol one", "the attack campaign"),
comparisons and sums, names that are not in the store, and launch requests whose settings
must be kept.

The store is the one ``benchmarks/chat.py`` builds (two branin searches, random and sobol; two
Scharenberg22 screens, random and bo; a small attack on the digits CNN). Campaigns are found
in the store by kind and planner, and every expected figure is read back from it
(``MlflowStore``: params, config, round metrics, observations), never typed in.

    questions(store_or_uri) -> list[Question]     # the set
    score(question, shown_text, launched) -> bool  # the one scorer; runners must use it
    Question.check(shown_text) -> bool             # its text part (score without `launched`)

A :class:`Question` is correct when, in what the chat showed (facts and prose), matched
case-insensitively:

- ``expect``: every string appears;
- ``any_of``: of each group, at least one string appears (alternative wordings or roundings);
- ``patterns``: every regular expression matches (a figure next to its name: "seed 0",
  "--batch 32", "3 rounds");
- ``forbid``: no string appears (an unknown campaign answered with another campaign's
  figures, a follow-up answered about the wrong campaign) -- the scorer MUST honour it;
- nothing was launched (``launched`` False): a launch request (``launches=True``) is right
  when it is proposed with the asked settings, and nothing starts before the user confirms.

Strings match as whole tokens: a number is not part of a longer number ("4 hits" is not in
"14 hits", "61" is not in "0.61"), a word not part of a longer word ("pgd" is not in
"apgd-ce"); a decimal may go on with more digits ("5.67" is in "5.6711"). ``before``: turns
said first in the same conversation (not timed, not scored); the question is their follow-up.

    python benchmarks/chat_heldout.py --store sqlite:///path/mlflow.db   # print the set
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

NOT_FOUND = (
    "no campaign", "no such", "not found", "unknown", "does not exist", "doesn't exist",
    "not in the store", "isn't in the store", "couldn't find", "could not find", "can't find",
    "cannot find", "there is no", "there are no", "none of the campaigns", "not a campaign",
)  # fmt: skip
ROLES = ("branin-random", "branin-sobol", "screen-random", "screen-bo", "attack")
BATCH_PRE = r"batch(?:es)?(?:[ _-]?size)?|rounds? of|per round"
SUM_PRE = r"hits?|found|together|total|combined|sum|="
SUM_POST = r"(?:new\s+)?hits?|(?:in\s+)?total|together|combined|between them"
BATCH_POST = r"(?:[a-z]+\s+)?(?:per|each|a|every)\s+(?:round|batch)"


@dataclass(frozen=True)
class Question:
    text: str
    expect: tuple[str, ...]
    category: str
    launches: bool = False  # an action: correct only if proposed and nothing started
    forbid: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()
    patterns: tuple[str, ...] = ()
    before: tuple[str, ...] = ()

    def check(self, text: str) -> bool:
        """Whether ``text`` (what the chat showed) answers it; see :func:`score`."""
        return (
            all(found(x, text) for x in self.expect)
            and all(any(found(x, text) for x in group) for group in self.any_of)
            and all(re.search(p, text, re.IGNORECASE) for p in self.patterns)
            and not any(found(x, text) for x in self.forbid)
        )


def score(question: Question, shown_text: str, launched: bool) -> bool:
    """Correct: expect, any_of and patterns all found, nothing of forbid, nothing launched."""
    return not launched and question.check(shown_text)


def found(needle: str, text: str) -> bool:
    """``needle`` in ``text`` as a whole token, case-insensitively (see the module doc)."""
    return re.search(token(needle), text, re.IGNORECASE) is not None


def token(needle: str, strict: bool = False) -> str:
    """A regex of ``needle`` as a token; ``strict``: a decimal may not go on with more digits
    (trailing zeros allowed: "0.1" is in "0.10", not in "0.15")."""
    head = tail = ""
    if needle[:1].isdigit():
        head = r"(?<![\w.])"
    elif needle[:1].isalnum():
        head = r"(?<![A-Za-z0-9])"
    if needle[-1:].isalpha():
        tail = r"(?![A-Za-z0-9])"
    elif needle[-1:].isdigit() and "." not in needle:
        tail = r"(?![A-Za-z0-9]|[.,]\d)"
    elif needle[-1:].isdigit() and strict:
        tail = r"0*(?![A-Za-z0-9]|[.,]\d)"
    return head + re.escape(needle) + tail


def near(value: str, pre: str = "", post: str = "") -> str:
    """A regex: ``value`` right after a word of ``pre`` ("seed: 0", "--batch 32", "batch size
    of 16", "eps = 0.1") or right before one of ``post`` ("3 rounds", "16 genes per round")."""
    v = token(value, strict=True)
    link = r"[\s\"'`=:(\-]{0,4}(?:(?:is|was|were|are|of|to|set to|at|with)\s+)?[\"'`]?"
    alts = [rf"(?:{pre}){link}{v}"] if pre else []
    alts += [rf"{v}[\"'`]?\s*(?:{post})"] if post else []
    return "|".join(alts)


def hits_near(n: int) -> str:
    of = r"of\s+(?:the\s+|all\s+)?\d+(?:\s+\w+)?\s+hits"  # "6 of 53 hits", "6 of the 53 known hits"
    return near(str(n), pre=r"hits?|found", post=rf"(?:new\s+|more\s+)?hits?|{of}")


def num(v: float) -> tuple[str, ...]:
    """How a reasonable answer writes ``v``: an integer as itself (and with a thousands comma);
    else rounded to 2 decimals, cut to 2 decimals or to 3 significant figures (small values:
    3 or 2 significant figures)."""
    v = float(v)
    if v.is_integer():
        return tuple(dict.fromkeys((str(int(v)), f"{int(v):,}")))
    if abs(v) >= 1:
        forms = (f"{v:.2f}", f"{math.trunc(v * 100) / 100:.2f}", f"{v:.3g}")
    else:
        forms = (f"{v:.3g}", f"{v:.2f}" if abs(v) >= 0.1 else f"{v:.2g}")
    return tuple(dict.fromkeys(forms))


def ratio(v: float) -> tuple[str, ...]:
    """A share as a fraction or a percentage."""
    pct = 100 * float(v)
    whole = (f"{pct:.0f}%",) if pct >= 10 else ()
    return tuple(dict.fromkeys((*num(v), f"{pct:.1f}%", f"{pct:.2g}%", *whole)))


def round_ref(n: int, last: bool) -> str:
    """A regex naming round ``n`` (1-based): "round 2", "2nd round", "second round", "last"."""
    words = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n if n < 20 else n % 10, "th")
    alts = [rf"round\W{{0,3}}{n}(?!\d)", rf"{n}{suffix} round"]
    alts += [rf"{words[n]} round"] if n < len(words) else []
    alts += [r"(?:last|final) round"] if last else []
    return "|".join(alts)


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class Camp:
    """What the questions need of one campaign, read from the store."""

    name: str
    kind: str
    params: dict[str, str]
    config: dict[str, Any]
    history: list[Any]
    rounds: list[dict[str, float]]  # metrics of each recorded round, in order (round 1 first)
    best: dict[str, str]

    @property
    def hits(self) -> list[str]:
        return [str(o.spec.params["gene"]) for o in self.history if _hit(o)]

    def user_round(self, stored_round: int) -> int:
        """The round as people count it (1..N) of a recorded ``spec.round``."""
        return sorted({o.spec.round for o in self.history}).index(stored_round) + 1

    @property
    def best_value(self) -> float:
        return float(self.best["perturbo.best.value"])

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(json.loads(self.best["perturbo.best.params"]))

    def best_obs(self) -> Any:
        return next(o for o in self.history if o.spec.id == self.best["perturbo.best.id"])


def _hit(o: Any) -> bool:
    return float(o.outcome.metrics.get("hit", 0.0)) == 1.0


def load(store: Any) -> tuple[dict[str, Camp], list[Camp]]:
    """Every campaign of the store, and the five the questions are about by role:
    branin-random, branin-sobol, screen-random, screen-bo, attack (by kind, task and planner)."""
    roles: dict[str, Camp] = {}
    every = []
    for s in store.list_campaigns():
        p = {k: str(v) for k, v in s.params.items()}
        rm = store.round_metrics(s.name)
        camp = Camp(s.name, s.kind, p, store.config(s.name), list(store.history(s.name)),
                    [rm[r] for r in sorted(rm)], store.best_marks(s.name))  # fmt: skip
        every.append(camp)
        role = {
            "hyperparameter": f"branin-{p.get('planner')}" if p.get("task") == "branin" else "",
            "genetic": f"screen-{p.get('planner')}",
            "attack": "attack",
        }.get(s.kind, "")
        roles.setdefault(role, camp)
    missing = [r for r in ROLES if r not in roles]
    if missing:
        raise SystemExit(f"the store {store.uri!r} lacks the campaigns {missing}: build it with "
                         "benchmarks/chat.py (its build_store)")  # fmt: skip
    return roles, every


# --------------------------------------------------------------------------- the questions


def setting(camp: Camp, key: str) -> str:
    """A campaign's setting as recorded: its param, else its stored config."""
    return str(camp.params.get(key, camp.config.get(key)))


def campaigns(store: Any) -> tuple[list[Camp], list[Camp]]:
    """The five campaigns by role (in :data:`ROLES` order) and every campaign of ``store``
    (an ``MlflowStore`` or its URI)."""
    if isinstance(store, str):
        from perturbo.tracking import open_store

        store = open_store(store)
    roles, everyone = load(store)
    return [roles[k] for k in ROLES], everyone


def questions(store: Any) -> list[Question]:
    """The held-out set; ``store``: an ``MlflowStore`` or its URI."""
    (br, bs, sr, sb, at), everyone = campaigns(store)
    q = Question

    def batch(camp: Camp) -> str:
        return near(setting(camp, "batch"), pre=BATCH_PRE, post=BATCH_POST)

    def seed(camp: Camp) -> str:
        return near(setting(camp, "seed"), pre=r"seed")

    # per-round figures (rounds counted 1..N as people count them)
    bo_rounds = [int(m.get("hits_round", 0)) for m in sb.rounds]
    top = max(bo_rounds)
    top_rounds = [i + 1 for i, h in enumerate(bo_rounds) if h == top]
    rnd_last = int(sr.rounds[-1]["hits_round"])
    first_ratio = sr.rounds[0]["hit_ratio"]
    br_best = br.best_obs()
    br_best_round = br.user_round(br_best.spec.round)
    trial_ref = "|".join([re.escape(br_best.spec.id), round_ref(br_best_round, False),
                          rf"trial\W{{0,3}}#?{br_best_round}(?!\d)",
                          rf"{br_best_round}(?:st|nd|rd|th) (?:trial|experiment)"])  # fmt: skip
    # hit genes
    late = next(o for o in reversed(sb.history) if _hit(o))
    scored = [o for o in sr.history if _hit(o) and "score" in o.outcome.metrics]
    sign = -1.0 if sr.params.get("hit_tail") == "low" else 1.0
    top_hit = max(scored, key=lambda o: sign * float(o.outcome.metrics["score"]))
    # comparisons
    n_sr, n_sb = len(sr.hits), len(sb.hits)
    if n_sb > n_sr:
        verdict = ("yes", "beat", "more hits", "better", "outperform")
    elif n_sb < n_sr:
        verdict = ("no", "did not", "didn't", "fewer", "worse", "random found more", "random beat")
    else:
        verdict = ("same", "tie", "tied", "equal", "both found")
    more, less = (sr, sb) if n_sr >= n_sb else (sb, sr)
    desc = {sr.name: "the random screen", sb.name: "the bo screen"}
    win_br = min((br, bs), key=lambda x: x.best_value)  # branin is minimised
    ratio_win = max((sr, sb), key=lambda x: x.rounds[-1]["hit_ratio"])
    total = sum(len(x.history) for x in everyone)
    random_ones = tuple(x.name for x in everyone if x.params.get("planner") == "random")
    # the attack
    methods = at.config.get("methods") or []
    best_attack = at.best_params
    steps = near(str(best_attack.get("steps", "")), pre="steps", post="steps|iterations")
    norm = at.params["norm"]
    norms = (
        ("linf", "l-inf", "l_inf", "l∞", "l-infinity", "infinity") if norm == "linf" else (norm,)
    )
    kx = [k for k in br.best_params if isinstance(br.best_params[k], int | float)][:2]
    # unknown names: another campaign's figures must not be given as theirs
    screen_figs = tuple(f"{h} hits" for h in (n_sr, n_sb)) + tuple(
        f"{h} of {sr.params.get('screen_hits', '?')}" for h in (n_sr, n_sb)
    )
    branin_figs = tuple(num(br.best_value)[:1] + num(bs.best_value)[:1])
    attack_figs = ratio(at.best_value)
    rounds_of = {
        x.name: near(setting(x, "rounds"), pre=r"rounds", post=r"rounds") for x in (sr, sb)
    }

    return [
        # settings
        q(f"what seed did {sb.name} use?", (), "settings", patterns=(seed(sb),)),
        q("whats the batch size of the random screen", (), "settings", patterns=(batch(sr),)),
        q("how many rounds did the bo screen run for?", (), "settings", patterns=(rounds_of[sb.name],)),
        q(f"which CRISPR screen was {sr.name} run on?", (setting(sr, "screen"),), "settings"),
        q("what task was optimised in the sobol campaign?", (), "settings",
          patterns=(near(setting(bs, "task"), pre="task", post="task|function|benchmark"),)),
        q("how many trials did the random branin search have, and in batches of how many?", (),
          "settings", patterns=(near(setting(br, "trials"), pre="trials", post="trials|experiments"),
                                batch(br))),
        q("what eps was the attack campaign run at?", (), "settings",
          patterns=(near(setting(at, "eps"), pre=r"eps(?:ilon)?|ε|budget|perturbation"),)),
        q(f"which norm did {at.name} use", (), "settings", any_of=(norms,)),
        q("what model was attacked in the attack campaign?", (setting(at, "model"),), "settings"),
        q(f"which attack methods were searched in {at.name}?", tuple(map(str, methods)), "settings"),
        # per-round figures
        q("which round of the bo screen found the most hits?", (), "per-round",
          patterns=(hits_near(top), *(round_ref(r, r == len(bo_rounds)) for r in top_rounds))),
        q(f"how many hits did {sr.name} get in its last round?", (), "per-round",
          patterns=(hits_near(rnd_last),)),
        q("hits per round for the screen that used bayesian optimisation?", (), "per-round",
          patterns=tuple(hits_near(h) for h in bo_rounds)),
        q("what was the hit ratio of the random screen after round 1?", (), "per-round",
          any_of=(ratio(first_ratio),)),
        q("in which trial did the random branin search reach its best value?", (), "per-round",
          patterns=(trial_ref,)),
        # hit genes
        q("which genes came up as hits in the bo screen?", tuple(sb.hits), "hit genes"),
        q(f"list the hit genes of {sr.name}", tuple(sr.hits), "hit genes"),
        q(f"was {sb.hits[0]} a hit in {sb.name}?", (sb.hits[0],), "hit genes",
          any_of=(("yes", "was a hit", "is a hit", "was one of the hits", "found as a hit"),),
          forbid=("not a hit", "was not", "wasn't", "no,")),
        q(f"in which round did {sb.name} find {late.spec.params['gene']}?",
          (str(late.spec.params["gene"]),), "hit genes",
          patterns=(round_ref(sb.user_round(late.spec.round), late.spec.round == sb.history[-1].spec.round),)),
        # best configs
        q(f"what were {kx[0]} and {kx[1]} of the best trial in {br.name}?", (), "best",
          any_of=(num(br.best_params[kx[0]]), num(br.best_params[kx[1]]))),
        q("what was the best attack config in the attack campaign?", (str(best_attack["method"]),),
          "best", patterns=(steps,)),
        q("what's the lowest robust accuracy the digits attack got down to?", (), "best",
          any_of=(ratio(at.best_value),)),
        q(f"which hit in {sr.name} had the highest score?", (str(top_hit.spec.params["gene"]),), "best"),
        # comparisons
        q("did bo beat random on the screen?", (), "comparison", any_of=(verdict,),
          patterns=(hits_near(n_sb), hits_near(n_sr))),
        q("how many hits did the two screen campaigns find together?", (), "comparison",
          patterns=(near(str(n_sr + n_sb), pre=SUM_PRE, post=SUM_POST),)),
        q(f"how many more hits did {desc[more.name]} find than {desc[less.name]}?", (), "comparison",
          patterns=(near(str(len(more.hits) - len(less.hits)), pre=SUM_PRE + "|by|difference",
                         post=r"(?:more|extra|additional)\b|" + SUM_POST),)),
        q("which branin search got the lower value, random or sobol?", (), "comparison",
          any_of=(num(win_br.best_value), (win_br.name, win_br.params["planner"]))),
        q("how many experiments did all the campaigns run in total?", (str(total),), "comparison"),
        q("which campaigns used the random planner?", random_ones, "comparison"),
        q("which screen campaign had the better hit ratio, and what was it?", (ratio_win.name,),
          "comparison", any_of=(ratio(ratio_win.rounds[-1]["hit_ratio"]),)),
        # follow-ups: a campaign named by what it is, or by "it" after an earlier turn
        q("tell me about the attack campaign", (at.name,), "follow-up", any_of=(ratio(at.best_value),)),
        q("how many experiments did the screen that used bayesian optimisation run?", (), "follow-up",
          patterns=(near(str(len(sb.history)), pre="experiments", post="experiments|genes|knockouts"),)),
        q(f"what were its best {kx[0]} and {kx[1]}?", (), "follow-up",
          any_of=(num(bs.best_params[kx[0]]), num(bs.best_params[kx[1]])),
          forbid=num(br.best_params[kx[0]])[:1], before=("summarise the sobol branin campaign",)),
        q("and the random one?", (), "follow-up", patterns=(hits_near(n_sr),),
          forbid=(f"{n_sb} hits",) if n_sb != n_sr else (), before=(f"how many hits did {sb.name} find?",)),
        q("which attack method gave its best result, and with how many steps?",
          (str(best_attack["method"]),), "follow-up", patterns=(steps,),
          before=("tell me about the attack campaign",)),
        q("which genes did it find?", tuple(sr.hits), "follow-up",
          forbid=tuple(g for g in sb.hits if g not in sr.hits),
          before=(f"what planner did {sr.name} use?",)),
        # paraphrases, typos, shouting
        q(f"hw many hits did {sb.name} get", (), "paraphrase", patterns=(hits_near(n_sb),)),
        q(f"{bs.name.upper()} best value pls", (), "paraphrase", any_of=(num(bs.best_value),)),
        q("whats teh batch size and seed on the attack one", (), "paraphrase",
          patterns=(batch(at), seed(at))),
        q("how many of the screens hits did the random one find", (str(sr.params["screen_hits"]),),
          "paraphrase", patterns=(hits_near(n_sr),)),
        # names that are not in the store
        q(f"what did {sb.name.rsplit('-', 1)[0]}-cmaes find?", (f"{sb.name.rsplit('-', 1)[0]}-cmaes",),
          "unknown", any_of=(NOT_FOUND,), forbid=screen_figs),
        q(f"whats the best value of {br.name.rsplit('-', 1)[0]}-tpe", (f"{br.name.rsplit('-', 1)[0]}-tpe",),
          "unknown", any_of=(NOT_FOUND,), forbid=branin_figs),
        q(f"how robust was the model in {at.name.split('-')[0]}-attack-cifar?",
          (f"{at.name.split('-')[0]}-attack-cifar",), "unknown", any_of=(NOT_FOUND,), forbid=attack_figs),
        q("show me the hits of the IL2 screen campaign", ("IL2",), "unknown",
          any_of=((*NOT_FOUND, "none of", "no screen", "only", "never", "not run", "wasn't run"),),
          forbid=(*screen_figs, *sr.hits, *sb.hits)),
        # launch requests: proposed with the asked settings, nothing started
        q("start a genetic campaign on the IL2 screen with the bo planner, 3 rounds of 32 genes, seed 7",
          (), "launch", launches=True,
          patterns=(near("IL2", pre="screen", post="screen"), near("bo", pre="planner", post="planner"),
                    near("3", pre="rounds", post="rounds"), near("32", pre=BATCH_PRE, post=BATCH_POST),
                    near("7", pre="seed"))),
        q("rerun the random screen but on IFNG with 64 genes per round", (), "launch", launches=True,
          patterns=(near("IFNG", pre="screen", post="screen"), near("64", pre=BATCH_PRE, post=BATCH_POST),
                    near(setting(sr, "planner"), pre="planner", post="planner"), rounds_of[sr.name])),
        q(f"launch an attack on {setting(at, 'model')}: eps 0.05, l2 norm, 8 trials, sobol planner",
          (setting(at, "model"),), "launch", launches=True,
          patterns=(near("0.05", pre=r"eps(?:ilon)?"), near("l2", pre="norm", post="norm"),
                    near("8", pre="trials", post="trials"), near("sobol", pre="planner", post="planner"))),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Print the held-out questions and their expectations.")
    p.add_argument("--store", required=True, help="the store benchmarks/chat.py built")
    a = p.parse_args(argv)
    qs = questions(a.store)
    counts: dict[str, int] = {}
    for i, x in enumerate(qs, 1):
        counts[x.category] = counts.get(x.category, 0) + 1
        print(f"{i:2d} [{x.category}] {' / '.join(x.before)}{' -> ' if x.before else ''}{x.text}")
        for field in ("expect", "any_of", "patterns", "forbid"):
            if getattr(x, field):
                print(f"     {field}: {getattr(x, field)}")
    print(f"{len(qs)} questions: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
