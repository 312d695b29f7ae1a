"""Policies on LCIO-Bench: the CMDP env (check_env, measured costs, masks, refusals), LCIO's
planner (never over budget), the oracle, and the train/evaluate CLIs on a small bench file that
the test writes itself (synthetic measurements with known numbers, no models)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from lab.bench.oracle import Planned, oracle_plan
from lab.bench.scenarios import TASKS
from lab.bench_eval import run_episode, scaled
from policies.bench.dataset import complete_dialogues, is_bench_file, load_bench
from policies.bench_policy import (
    BENCH_SPACE,
    HEARD,
    OBS_DIM,
    RESOURCES,
    BenchCloudOnly,
    BenchEnv,
    BenchEnvConfig,
    BenchLocalOnly,
    BenchPlanner,
    BenchPlannerConfig,
    TaskClassifier,
    kinds_from_obs,
)

KINDS = [(), ("image",), ("image", "image"), ("audio",), ("image", "image", "audio")]
PROMPTS = {"image_qa": "What colour is the car in this photo?", "ocr": "Read the sign for me.",
           "speech": "Answer my voice message.", "factual": "What is the capital of Peru?",
           "summarise": "Summarise this paragraph in one line.", "rewrite": "Rewrite this politely.",
           "recommend": "Recommend a film for tonight.", "arithmetic": "What is 17 times 3?",
           "chat": "Hi there!", "transcribe": "Transcribe my voice message.",
           "yes_no": "Does this sign say open? Answer yes or no.",
           "translate": "Translate into French: good night",
           "reasoning": "Ana has 12 apples and gives 3 away. How many are left?"}


def write_sample(path: Path, n_dialogues: int = 15, seed: int = 0, partial: bool = False) -> Path:
    """A bench file in the builder's format with seeded synthetic measurements."""
    rng = np.random.default_rng(seed)
    acts = BENCH_SPACE.actions
    header = {"type": "header", "format": "lcio-bench", "version": 1,
              "action_space": {"slots": 3, "local_subsets": True, "n": 16,
                               "actions": [[a.location, list(a.attachments)] for a in acts]}}
    rows = [header]
    for d in range(n_dialogues):
        n_turns = int(rng.integers(2, 5))
        for t in range(n_turns):
            task = TASKS[int(rng.integers(len(TASKS)))]
            kinds = KINDS[int(rng.integers(len(KINDS)))]
            rows.append({"type": "turn", "dialogue": f"d{d:04d}", "turn": t, "n_turns": n_turns,
                         "task": task, "prompt": PROMPTS[task],
                         "attachments": [{"kind": k, "relevant": True, "slot": i}
                                         for i, k in enumerate(kinds)],
                         "measured": {"perception_cold_s": [0.5] * len(kinds)}})
            if partial and d == n_dialogues - 1 and t == n_turns - 1:
                break  # the last turn of the last dialogue has no outcomes yet
            for a in np.flatnonzero(BENCH_SPACE.mask_for([i < len(kinds) for i in range(3)])):
                act = acts[a]
                cloud = act.location == "cloud"
                n = len(act.attachments)
                lat = float(rng.uniform(1, 3) + n)
                rows.append({"type": "outcome", "dialogue": f"d{d:04d}", "turn": t, "action": int(a),
                             "location": act.location, "slots": list(act.attachments),
                             "answer": "x", "error": None,
                             "score": float(np.clip(rng.uniform(0, 0.6) + 0.1 * n + 0.2 * cloud, 0, 1)),
                             "measured": {"latency_s": lat, "ttft_s": lat / 3,
                                          "cost_usd": float(1e-4 * (1 + n)) if cloud else 1e-7,
                                          "energy_j": 0.0 if cloud else 15.0 * lat}})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("bench") / "sample.jsonl")


@pytest.fixture(scope="module")
def trained(sample: Path) -> BenchPlanner:
    policy, _ = BenchPlanner.train(complete_dialogues(sample), BenchPlannerConfig(epochs=5),
                                      progress=False)
    return policy


def make_env(sample: Path, policy: BenchPlanner, **cfg) -> BenchEnv:
    return BenchEnv(complete_dialogues(sample), policy.classifier, policy.outcomes,
                    BenchEnvConfig(**cfg))


def test_sample_is_a_bench_file_and_partial_dialogues_are_dropped(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "p.jsonl", n_dialogues=6, partial=True)
    assert is_bench_file(path)
    assert len(complete_dialogues(path)) == 5
    assert len(load_bench(path).dialogues) == 6


def test_bench_env_passes_check_env(sample: Path, trained: BenchPlanner) -> None:
    check_env(make_env(sample, trained), skip_render_check=True)
    check_env(make_env(sample, trained, guard=False, budget_sampling="scale"), skip_render_check=True)


def test_costs_and_quality_are_the_measured_row(sample: Path, trained: BenchPlanner) -> None:
    env = make_env(sample, trained, guard=False)
    budgets = {r: 1e9 for r in RESOURCES}
    checked = 0
    for i, dialogue in enumerate(env.dialogues):
        for a in range(BENCH_SPACE.n):
            env.reset(options={"dialogue": i, "budgets": budgets})
            turn = dialogue[0]
            if not env.presence_mask()[a]:
                continue
            _, reward, _, _, info = env.step(a)
            for r in RESOURCES:
                assert info["costs"][r] == pytest.approx(getattr(turn, r)[a])
            assert info["quality"] == pytest.approx(turn.quality[a])
            assert reward == pytest.approx(turn.quality[a] - 0.02 * turn.latency_s[a] - 20 * turn.usd[a])
            checked += 1
    assert checked > 2 * len(env.dialogues)


def test_masks_exclude_absent_and_unaffordable_actions(sample: Path, trained: BenchPlanner) -> None:
    env = make_env(sample, trained)
    i = next(i for i, d in enumerate(env.dialogues) if len(d[0].kinds) == 1)
    env.reset(options={"dialogue": i, "budgets": {r: 1e9 for r in RESOURCES}})
    m = env.action_masks()
    assert m.sum() == 4  # local/cloud × {no file, slot 0}
    assert all(set(a.attachments) <= {0} for a, ok in zip(BENCH_SPACE.actions, m, strict=False) if ok)
    # no dollars: only local actions fit; no joules either: nothing fits and the turn is refused
    env.reset(options={"dialogue": i, "budgets": {"latency_s": 1e9, "usd": 0.0, "energy_j": 1e9}})
    assert all(BENCH_SPACE.actions[a].location == "local" for a in np.flatnonzero(env.action_masks()))
    env.reset(options={"dialogue": i, "budgets": {"latency_s": 1e9, "usd": 0.0, "energy_j": 0.0}})
    assert not env.action_masks().any()
    _, reward, _, _, info = env.step(0)
    assert info["refused"] and reward == 0.0 and all(v == 0.0 for v in info["costs"].values())
    # an action naming an empty slot sends only the files that exist
    env.reset(options={"dialogue": i, "budgets": {r: 1e9 for r in RESOURCES}})
    full = BENCH_SPACE.actions.index(next(a for a in BENCH_SPACE.actions
                                          if a.location == "cloud" and len(a.attachments) == 3))
    assert BENCH_SPACE.actions[env.project(full)].attachments == (0,)


def test_observation_holds_only_what_the_app_knows(sample: Path, trained: BenchPlanner) -> None:
    env = make_env(sample, trained)
    i = next(i for i, d in enumerate(env.dialogues) if d[0].kinds == ("image", "image", "audio"))
    obs, _ = env.reset(options={"dialogue": i})
    assert obs.shape == (OBS_DIM,) and env.observation_space.contains(obs)
    assert kinds_from_obs(obs) == ("image", "image", "audio")
    turn = env.dialogues[i][0]
    assert np.argmax(obs[:8]) == trained.classifier.predict(turn.prompt, turn.kinds)


def test_observation_says_whether_earlier_turns_carried_audio(sample: Path, trained: BenchPlanner) -> None:
    env = make_env(sample, trained, guard=False)
    i = next(i for i, d in enumerate(env.dialogues) if "audio" in d[0].kinds)
    obs, _ = env.reset(options={"dialogue": i})
    assert obs[HEARD] == 0.0
    obs, *_ = env.step(0)
    assert obs[HEARD] == 1.0


def test_classifier_learns_the_tasks(sample: Path) -> None:
    turns = [t for d in complete_dialogues(sample) for t in d]
    clf = TaskClassifier.fit(turns)
    acc = np.mean([clf.predict(t.prompt, t.kinds) == t.task_id for t in turns])
    assert acc > 0.9
    restored = TaskClassifier(**json.loads(json.dumps(clf.to_dict())))
    assert restored.predict("Read the sign for me.", ("image",)) \
        == TASKS.index("ocr")


@pytest.mark.parametrize("scale", [0.1, 0.3, 1.0, 3.0])
def test_lcio_never_goes_over_budget(sample: Path, trained: BenchPlanner, scale: float) -> None:
    env = make_env(sample, trained)
    budgets = {"latency_s": 12.0 * scale, "usd": 4e-4 * scale, "energy_j": 60.0 * scale}
    for i in range(len(env.dialogues)):
        ep = run_episode(env, trained, i, budgets)
        assert not any(ep.over_after), (i, ep.spent)


def test_oracle_is_feasible_and_beats_every_policy(sample: Path, trained: BenchPlanner) -> None:
    env = make_env(sample, trained)
    budgets = scaled(0.5, {"latency_s": 12.0, "usd": 4e-4, "energy_j": 60.0})
    for i, d in enumerate(env.dialogues):
        plan, total = oracle_plan(d, budgets)
        orc = run_episode(env, Planned(plan), i, budgets)
        assert not any(orc.over_after)
        assert sum(orc.rewards) == pytest.approx(total)
        for pol in (trained, BenchLocalOnly(), BenchCloudOnly()):
            assert orc.reward >= run_episode(env, pol, i, budgets).reward - 1e-9


def test_policy_round_trips_and_decides_fast_enough_to_matter(tmp_path: Path, trained: BenchPlanner,
                                                                sample: Path) -> None:
    from policies.artifacts import load_policy

    trained.save(tmp_path / "p.json")
    again = load_policy(tmp_path / "p.json")
    assert isinstance(again, BenchPlanner) and again.space.n == 16
    env = make_env(sample, trained)
    obs, _ = env.reset(options={"dialogue": 0})
    mask = env.action_masks()
    assert again.decide(obs, mask).action == trained.decide(obs, mask).action
    assert mask[trained.decide(obs, mask).action]


def test_evaluate_and_train_clis_accept_the_bench(tmp_path: Path, sample: Path) -> None:
    from lab import evaluate, train

    res = evaluate.main(["--dataset", str(sample), "--seeds", "1", "--epochs", "2",
                         "--a2c-steps", "0", "--sweep", "0.5,1", "--out", str(tmp_path / "ev")])
    pol = res["policies"]
    assert {"oracle (hindsight)", "lcio-lookahead", "local-only", "cloud-only", "random",
            "greedy"} <= set(pol)
    best = pol["oracle (hindsight)"]["reward"]["mean"]
    assert all(best >= v["reward"]["mean"] - 1e-9 for v in pol.values())
    assert pol["lcio-lookahead"]["over_budget_share"]["mean"] == 0.0
    assert (tmp_path / "ev" / "results.html").exists()
    out = train.main(["--dataset", str(sample), "--epochs", "2", "--out", str(tmp_path / "p.json")])
    doc = json.loads(Path(out).read_text())
    assert doc["dataset_format"] == "lcio-bench" and doc["action_space"]["local_subsets"]
    assert "lab.train" in doc["command"]


def test_shipped_benchmark_is_complete_and_its_env_passes_check_env() -> None:
    from policies.artifacts import APP_POLICY_PATH, BENCH_PATH

    if not (BENCH_PATH.exists() and APP_POLICY_PATH.exists()):
        pytest.skip("the shipped benchmark or policy is not in assets/")
    bench = load_bench(BENCH_PATH)
    assert bench.complete()
    dialogues = complete_dialogues(BENCH_PATH)
    assert len(dialogues) >= 100 and sum(len(d) for d in dialogues) >= 352  # M4A1's size
    policy = BenchPlanner.load(APP_POLICY_PATH)
    env = BenchEnv(dialogues, policy.classifier, policy.outcomes)
    check_env(env, skip_render_check=True)
    # the shipped policy never goes over the nominal budgets on the benchmark it learned from
    for i in range(len(dialogues)):
        assert not any(run_episode(env, policy, i, dict(env.cfg.budgets)).over_after)


def test_policy_chooses_within_the_callers_mask_when_its_worst_case_fits_nowhere(
        sample: Path, trained: BenchPlanner) -> None:
    """The app guards its real costs itself: an empty bench guard must not override it."""
    env = make_env(sample, trained)
    obs, _ = env.reset(options={"dialogue": 0, "budgets": {r: 0.0 for r in RESOURCES}})
    mask = env.presence_mask() & np.array([a.location == "local" for a in BENCH_SPACE.actions])
    dec = trained.decide(obs, mask)
    assert mask[dec.action] and "caller's guard" in dec.reason
    assert trained.decide(obs, np.zeros(BENCH_SPACE.n, dtype=bool)).reason.startswith("no action")
