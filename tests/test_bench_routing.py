"""Prompt-aware quality, the RouteLLM-style router and the cascade on LCIO-Bench, on synthetic
turns whose scores depend on a word of the prompt (so the task class alone cannot tell them
apart), and the README renderer on a results.json the evaluator writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from policies.bench.dataset import BenchTurn
from policies.bench.observation import PROMPT, TaskClassifier, bench_observation
from policies.bench.prompt_features import prompt_counts
from policies.bench.prompt_quality import PromptQualityModel, turn_observations
from policies.bench.routers import (
    BenchCascade,
    BenchRouter,
    WeaknessModel,
    WinRateModel,
    cascade_action,
    cascade_parts,
    fullest,
    weak_answer,
)
from policies.bench_policy import BENCH_SPACE, RESOURCES, BenchEnv, BenchEnvConfig, OutcomeModel

S = BENCH_SPACE
EASY = ["What is 2 plus 2?", "What is 3 plus 1?", "What is 5 plus 4?"]
HARD = ["Integrate the gamma density twice", "Integrate the bessel series", "Integrate the zeta product"]


def turn(prompt: str, dialogue: str, hard: bool, seed: int) -> BenchTurn:
    """A text-only arithmetic turn: local scores 1 on easy prompts and 0 on hard ones; the
    cloud scores 1 on both and costs more. Local answers to hard prompts are empty."""
    rng = np.random.default_rng(seed)
    n = S.n
    q, lat, usd, joules = (np.full(n, np.nan) for _ in range(4))
    valid = np.zeros(n, dtype=bool)
    answers = {}
    for a in (fullest(S, (), "local"), fullest(S, (), "cloud")):
        cloud = S.actions[a].location == "cloud"
        q[a] = 1.0 if cloud or not hard else 0.0
        lat[a] = 1.0 + 0.1 * rng.random()
        usd[a] = 1e-4 if cloud else 1e-7
        joules[a] = 0.0 if cloud else 10.0
        valid[a] = True
        answers[a] = "" if (hard and not cloud) else "The answer is four, as asked."
    return BenchTurn(dialogue, 0, "arithmetic", prompt, (False, False, False), (), (), q, lat, usd,
                     joules, lat / 3, valid, answers)


@pytest.fixture(scope="module")
def dialogues() -> list[list[BenchTurn]]:
    out = []
    for i in range(30):
        hard = i % 2 == 1
        prompt = f"{(HARD if hard else EASY)[i % 3]} Case {i}."  # distinct prompts: no tied scores
        out.append([turn(prompt, f"d{i}", hard, i)])
    return out


@pytest.fixture(scope="module")
def fitted(dialogues):
    turns = [d[0] for d in dialogues]
    clf = TaskClassifier.fit(turns)
    obs, turns = turn_observations(dialogues, clf)
    return clf, obs, turns


def test_the_observation_carries_the_prompts_hashed_words() -> None:
    a = bench_observation(0, (), "Integrate the gamma density", 0, None, {}, {})
    assert np.array_equal(a[PROMPT], prompt_counts("Integrate the gamma density"))
    assert a[PROMPT].sum() == 4 + 3  # four words, three adjacent pairs
    b = bench_observation(0, (), "What is 2 plus 2?", 0, None, {}, {})
    assert not np.array_equal(a[PROMPT], b[PROMPT])


def test_quality_follows_the_prompt_where_the_task_class_cannot(fitted) -> None:
    clf, obs, turns = fitted
    model = PromptQualityModel.fit_cv(obs, turns, [t.dialogue for t in turns], (0.1, 1.0))
    local, cloud = fullest(S, (), "local"), fullest(S, (), "cloud")
    text = "Integrate the gamma density"
    hard = bench_observation(clf.predict(text, ()), (), text, 0, None, {}, {})
    easy = bench_observation(clf.predict("What is 7 plus 2?", ()), (), "What is 7 plus 2?", 0, None, {}, {})
    assert np.argmax(hard[:8]) == np.argmax(easy[:8])  # one task class for both
    assert model.predict(easy)[local] > 0.7 > 0.3 > model.predict(hard)[local]
    assert model.predict(hard)[cloud] > 0.7
    again = PromptQualityModel(**json.loads(json.dumps(model.to_dict())))
    assert np.allclose(again.predict(hard), model.predict(hard))
    # the task-class table gives both prompts the same local estimate
    table = OutcomeModel.fit(turns, [clf.predict(t.prompt, t.kinds) for t in turns])
    assert table.predict(int(np.argmax(hard[:8])), ())[0][local] == pytest.approx(0.5, abs=0.1)


def test_router_calibrates_its_threshold_to_a_cloud_share_and_routes_hard_prompts_up(fitted) -> None:
    clf, obs, turns = fitted
    model = WinRateModel.fit(obs, turns)
    assert model.train_wins == pytest.approx(0.5)
    for share in (0.0, 0.2, 0.5, 1.0):
        router = BenchRouter(model, share)
        sent = np.mean([S.actions[router.decide(o, S.mask_for([False] * 3)).action].location == "cloud"
                        for o in obs])
        assert sent == pytest.approx(share, abs=0.1)
    router = BenchRouter(model)  # default: the share where the cloud won in training
    hard = bench_observation(0, (), "Integrate the bessel density", 0, None, {}, {})
    easy = bench_observation(0, (), "What is 6 plus 1?", 0, None, {}, {})
    assert S.actions[router.decide(hard, S.mask_for([False] * 3)).action].location == "cloud"
    assert S.actions[router.decide(easy, S.mask_for([False] * 3)).action].location == "local"


def test_weak_answer_rule() -> None:
    assert weak_answer("") and weak_answer("Yes.")
    assert weak_answer("I'm sorry, but I can't help with that request today.")
    assert weak_answer("the cat sat on the mat the cat sat on the mat the cat sat on the mat")
    assert not weak_answer("The total on the receipt is 42 dollars and 10 cents.")


def test_cascade_pays_for_both_calls_only_when_it_escalates(dialogues) -> None:
    turns = [d[0] for d in dialogues]
    clf = TaskClassifier.fit(turns)
    outcomes = OutcomeModel.fit(turns, [clf.predict(t.prompt, t.kinds) for t in turns])
    env = BenchEnv(dialogues, clf, outcomes, BenchEnvConfig(guard=False))
    cascade = BenchCascade(WeaknessModel.fit(turns))
    local, cloud = fullest(S, (), "local"), fullest(S, (), "cloud")
    assert cascade_parts(S, cascade_action(S, local)) == (local, cloud) and cascade_parts(S, 3) is None
    big = {r: 1e9 for r in RESOURCES}
    for i, d in enumerate(dialogues):
        t = d[0]
        obs, _ = env.reset(options={"dialogue": i, "budgets": big})
        env.escalate = cascade.escalate
        _, _, _, _, info = env.step(cascade.decide(obs, env.action_masks()).action)
        hard = t.quality[local] == 0.0
        assert info["cascade"] and info["escalated"] == hard
        both = {r: getattr(t, r)[local] + getattr(t, r)[cloud] for r in RESOURCES}
        expect = both if hard else {r: getattr(t, r)[local] for r in RESOURCES}
        assert info["costs"] == pytest.approx(expect)
        assert info["quality"] == 1.0 and info["action"] == (cloud if hard else local)


def test_evaluation_writes_baselines_curves_and_the_readme_tables(tmp_path: Path) -> None:
    from lab import bench_readme, evaluate
    from tests.test_bench_policy import write_sample

    sample = write_sample(tmp_path / "s.jsonl", n_dialogues=20)
    res = evaluate.main(["--dataset", str(sample), "--seeds", "2", "--epochs", "2", "--a2c-steps", "0",
                         "--sweep", "0.1,0.5,1,3", "--out", str(tmp_path / "ev")])
    pol = res["policies"]
    for name in ("router (RouteLLM-style)", "cascade (local, then cloud)", "lcio, task-class quality",
                 "lcio, λ = 0", "lcio + cascade"):
        assert name in pol and len(pol[name]["reward"]["per_seed"]) == 2
    for scale in res["sweep"]["lcio + cascade"].values():  # guarded: both calls' worst case must fit
        assert scale["over_budget_share"]["mean"] == 0.0
    for metric in ("energy_j", "decide_ms_p50", "decide_ms_p99", "refused_share", "cloud_share"):
        assert metric in pol["lcio-lookahead"]
    assert set(res["sweep"]["lcio-lookahead"]) == {"0.1", "0.5", "1.0", "3.0"}
    router = res["curves"]["mean"]["router (cloud share)"]
    assert router[0]["cloud_share"] == 0.0 and router[-1]["cloud_share"] == 1.0
    assert router[0]["usd"] < router[-1]["usd"]
    assert res["cheap_and_good"]["policies"]["cloud-only"]["dollar_share"] == pytest.approx(1.0)
    assert (tmp_path / "ev" / res["figure"]).is_file()
    readme = tmp_path / "README.md"
    readme.write_text(f"head\n{bench_readme.BEGIN}\nSTALE TABLE\n{bench_readme.END}\ntail\n")
    bench_readme.main([str(tmp_path / "ev" / "results.json"), "--write", "--readme", str(readme)])
    text = readme.read_text()
    assert text.startswith("head\n") and text.endswith("tail\n") and "STALE TABLE" not in text
    reward = pol["lcio-lookahead"]["reward"]["mean"]
    assert f"| lcio-lookahead | {reward:.4g} ± " in text and "| router (cloud share) | 0.5 |" in text
    svg = (tmp_path / "figures" / "bench-quality-vs-cost.svg").read_text()
    assert svg.startswith("<svg") and "router (cloud share)" in svg and svg.count("<polyline") == 3


def test_ridge_path_dual_and_primal_agree_with_a_direct_solve() -> None:
    from policies.bench.prompt_quality import ridge_path

    rng = np.random.default_rng(0)
    for rows, cols in ((30, 80), (120, 20)):  # dual (fewer rows) and primal (more rows)
        x, y = rng.normal(size=(rows, cols)), rng.normal(size=rows)
        for alpha, w in zip((0.1, 3.0), ridge_path(x, y, (0.1, 3.0)), strict=True):
            direct = np.linalg.solve(x.T @ x + alpha * np.eye(cols), x.T @ y)
            assert np.allclose(w, direct, atol=1e-8)
