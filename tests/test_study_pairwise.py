"""Pairwise mode (issue 13): two blind answers side by side, a vote, costs per condition,
and a Bradley–Terry ranking checked against an independent maximum-likelihood fit."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from app.study.pairwise import pair_at
from app.study.ranking import bradley_terry, ranking, win_rates
from app.study.researcher import RANKING_COLUMNS, Researcher
from tests.study_helpers import TOKEN, client, last, make_config, make_service, serving

CONDITIONS = [{"name": "cond-x", "policy": "cloud-only"}, {"name": "cond-y", "policy": "local-only"},
              {"name": "cond-z", "policy": "cloud-only", "budget_usd": 0.5}]


def _config(tmp_path: Path, **over):
    return make_config(tmp_path, mode="pairwise", conditions=CONDITIONS, pair_ratings=True,
                       questionnaire=[{"id": "overall", "text": "Overall?"}], **over)


def test_pairwise_turns_votes_and_costs_per_condition(tmp_path: Path) -> None:
    svc = make_service(_config(tmp_path))
    pid = svc.consent(True).participant
    v = last(svc.send(pid, "Where should I travel?"))
    assert v.phase == "vote" and v.progress == "Comparison 1 of 2"
    assert [m["role"] for m in v.left] == [m["role"] for m in v.right] == ["user", "assistant"]
    assert v.left[-1]["content"].strip() and v.right[-1]["content"].strip()
    assert last(svc.send(pid, "skip the vote")).phase == "vote"  # no new pair before a vote
    assert svc.vote(pid, "maybe", None, None).note  # not a vote: asked again
    v = svc.vote(pid, "A is better", "5", "2")
    assert v.phase == "chat" and v.progress == "Comparison 2 of 2"
    last(svc.send(pid, "And what should I eat?"))
    assert svc.vote(pid, "Both are bad", None, "9").phase == "questionnaire"
    votes = svc.store.votes(pid)
    turns = svc.store.turns(pid)
    assert [(t["turn"], t["side"]) for t in turns] == [(0, "A"), (0, "B"), (1, "A"), (1, "B")]
    first = votes[0]
    assert (first["vote"], first["winner"], first["rating_left"], first["rating_right"]) == (
        "A", first["left_condition"], 5, 2)
    assert first["left_condition"] != first["right_condition"]
    assert (votes[1]["vote"], votes[1]["winner"], votes[1]["rating_right"]) == ("both_bad", None, None)
    # each side ran under its own condition's session: logged, charged, budgeted apart
    log = svc.store.log.rows()
    assert {r["session_id"] for r in log} == {f"{pid}.{t['condition']}" for t in turns}
    for t in turns:
        row = next(r for r in svc.store.turn_rows() if r["study_turn"] == t["id"])
        assert row["location"] == ("local" if t["condition"] == "cond-y" else "cloud")
    export = svc.store.export("csv")["study-votes.csv"].splitlines()
    assert len(export) == 3 and export[0].startswith("id,participant,turn,left_condition")


def test_sides_are_randomised_and_pairs_used_evenly(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    drawn = [pair_at(cfg, seq, f"p-{seq:016x}", turn) for seq in range(30) for turn in range(2)]
    assert Counter(frozenset(p) for p in drawn) == {frozenset(p): 20 for p in
                                                    [("cond-x", "cond-y"), ("cond-x", "cond-z"),
                                                     ("cond-y", "cond-z")]}
    lefts = Counter(p[0] for p in drawn)
    assert all(10 <= n <= 30 for n in lefts.values()), lefts  # every condition shows on both sides
    assert pair_at(cfg, 3, "p-x", 1) == pair_at(cfg, 3, "p-x", 1)  # reproducible


def _reference_bt(votes, names):
    """Maximum likelihood by a generic optimiser (ties: half a win each way)."""
    from scipy.optimize import minimize

    idx = {c: i for i, c in enumerate(names)}
    def nll(theta):
        total = 0.0
        for v in votes:
            a, b = idx[v["left_condition"]], idx[v["right_condition"]]
            pa = 1 / (1 + math.exp(theta[b] - theta[a]))
            w = {"A": 1.0, "B": 0.0}.get(v["vote"], 0.5)
            total -= w * math.log(pa) + (1 - w) * math.log(1 - pa)
        return total + 1e-9 * sum(t * t for t in theta)
    theta = minimize(nll, [0.0] * len(names), method="BFGS", options={"gtol": 1e-10}).x
    return {c: theta[i] - sum(theta) / len(names) for c, i in idx.items()}


def test_bradley_terry_matches_a_reference_fit() -> None:
    names = ["a", "b", "c", "d"]
    strength = {"a": 2.0, "b": 1.0, "c": 0.0, "d": -0.5}
    rng = random.Random(7)
    votes = []
    for _ in range(400):
        x, y = rng.sample(names, 2)
        p = 1 / (1 + math.exp(strength[y] - strength[x]))
        r = rng.random()
        votes.append({"left_condition": x, "right_condition": y,
                      "vote": "tie" if r > 0.93 else ("A" if r < p * 0.93 else "B")})
    ours = bradley_terry(votes, names, prior=0.0)
    ref = _reference_bt(votes, names)
    for c in names:
        assert ours[c] == pytest.approx(ref[c], abs=1e-3)
    assert [r["condition"] for r in ranking(votes, names, rounds=50)] == ["a", "b", "c", "d"]
    # two conditions, 3 wins to 1: strengths exactly 3:1
    two = [{"left_condition": "a", "right_condition": "b", "vote": v} for v in "AABA"]
    s = bradley_terry(two, ["a", "b"], prior=0.0)
    assert math.exp(s["a"] - s["b"]) == pytest.approx(3.0, rel=1e-6)
    rates = win_rates(two + [{"left_condition": "b", "right_condition": "a", "vote": "tie"}],
                      ["a", "b"])
    assert rates["a"] == {"comparisons": 5, "wins": 3, "ties": 1, "losses": 1, "win_rate": 0.7}


def test_bootstrap_interval_brackets_the_estimate() -> None:
    names = ["a", "b", "c"]
    votes = [{"left_condition": x, "right_condition": y, "vote": v}
             for x, y, v in [("a", "b", "A")] * 12 + [("a", "b", "B")] * 4
             + [("b", "c", "A")] * 9 + [("b", "c", "B")] * 7 + [("a", "c", "A")] * 10]
    rows = {r["condition"]: r for r in ranking(votes, names, rounds=300, seed=1)}
    for r in rows.values():
        assert r["score_ci_low"] <= r["score"] <= r["score_ci_high"]
    assert rows["a"]["rank"] == 1 and rows["a"]["score_ci_low"] > rows["c"]["score_ci_high"]


def test_researcher_ranking_and_votes_through_the_api(tmp_path: Path) -> None:
    cfg = _config(tmp_path, turns_per_task=1)
    svc = make_service(cfg)
    with serving(svc) as url:
        c = client(url)
        token = c.predict(True, None, "", api_name="/consent")[0]
        c.submit({"text": "hello", "files": []}, token, api_name="/send").result()
        c.predict(token, "B is better", "3", "4", api_name="/vote")
        status, _plot, _summary, _people, ranked = c.predict(TOKEN, api_name="/researcher_dashboard")
    vote = svc.store.votes()[0]
    assert (vote["vote"], vote["winner"], vote["rating_left"], vote["rating_right"]) == (
        "B", vote["right_condition"], 3, 4)
    assert "1 votes" in status
    ranked = ranked.get("value", ranked)  # an update of the Dataframe
    assert ranked["headers"] == RANKING_COLUMNS
    table = [dict(zip(RANKING_COLUMNS, r, strict=True)) for r in ranked["data"]]
    assert table[0]["condition"] == vote["right_condition"] and table[0]["wins"] == 1
    data = Researcher(cfg, svc.store).dashboard(TOKEN)
    assert [r[1] for r in data["ranking"]] == [r["condition"] for r in table]
