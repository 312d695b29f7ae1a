import json
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from policies.guard import affordable_mask
from policies.m4a1.data import load_dialogues, split_dialogues
from policies.m4a1.env import EnvConfig, OffloadEnv
from policies.m4a1.simulator import QualityModel
from tests.policy_fixtures import synthetic_dialogues

M4A1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4a1" / "M4A1.json"


def make_env(**cfg) -> OffloadEnv:
    d = synthetic_dialogues(present_all=cfg.pop("present_all", True))
    return OffloadEnv(d, QualityModel.fit(d), EnvConfig(**cfg))


def test_check_env_passes():
    check_env(make_env(), skip_render_check=True)
    check_env(make_env(budget_sampling="paper", overspend="zero_reward", history="logged"),
              skip_render_check=True)


@pytest.mark.skipif(not M4A1.exists(), reason="M4A1 not available")
def test_check_env_passes_on_m4a1_and_split_is_80_20():
    d = load_dialogues(M4A1)
    assert len(d) == 100 and sum(len(x.turns) for x in d) == 352
    train, test = split_dialogues(d, seed=0)
    assert len(train) == 80 and len(test) == 20 and not {x.id for x in train} & {x.id for x in test}
    check_env(OffloadEnv(train, QualityModel.fit(train)), skip_render_check=True)


def test_reward_and_costs_reported_separately():
    env = make_env()
    env.reset(seed=0, options={"dialogue": 0})
    _, r, _, _, info = env.step(8)
    assert set(info["costs"]) == {"latency_s", "usd", "energy_j"}
    assert info["costs"]["usd"] == pytest.approx(0.01368)
    assert info["costs"]["latency_s"] == pytest.approx(6.98211)
    # 3 views: normalised association 1, normalised latency and usage 1
    assert r == pytest.approx(info["quality"] + 1 / 3 - 1 / 3 - 1 / 3)


def test_masks_exclude_absent_attachments():
    env = make_env(present_all=False)
    for i, dlg in enumerate(env.dialogues):
        env.reset(options={"dialogue": i})
        present = dlg.turns[0].present
        mask = env.action_masks()
        for a, act in enumerate(env.space.actions):
            if any(not present[s] for s in act.attachments):
                assert not mask[a]
        assert mask[0]  # local needs no attachment


def test_masks_exclude_unaffordable_actions():
    env = make_env()
    env.reset(options={"dialogue": 0, "budgets": {"latency_s": 6.0, "usd": 1.0}})
    mask = env.action_masks()
    lat = env.action_costs["latency_s"]
    assert np.array_equal(mask, lat <= 6.0)  # 4.76 s one-view calls and local remain
    assert mask[0] and mask[2] and not mask[1] and not mask[8]
    costs = {"usd": np.array([0.0, 0.01, 0.02])}
    assert affordable_mask({"usd": 0.015}, costs).tolist() == [True, True, False]


def test_zero_reward_after_overspending_in_paper_mode():
    env = make_env(overspend="zero_reward")
    env.reset(options={"dialogue": 0, "budgets": {"latency_s": 5.0, "usd": 1.0}})
    _, r, _, _, info = env.step(8)  # 6.98 s > 5 s
    assert info["over_budget"] and r == 0.0 and info["reward_paper"] != 0.0


def test_history_follows_own_actions():
    env = make_env()
    env.reset(options={"dialogue": 0})
    obs, *_ = env.step(5)  # cloud with views 0 and 1
    assert obs[20:24].tolist() == [1.0, 1.0, 1.0, 0.0]


def test_generic_jsonl_loader(tmp_path):
    rows = [{"dialogue_id": 1, "task": "Query", "location": "cloud", "attachments": [1],
             "quality": 1.5, "association": [0.1, 0.2, 0.3], "present": [True, True, False]},
            {"dialogue_id": 1, "task": "Recommendation", "location": "local", "quality": 2,
             "answer": "Sorry, I can't"}]
    p = tmp_path / "log.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    (d,) = load_dialogues(p)
    assert d.turns[0].logged_action == 3 and d.turns[0].present == (True, True, False)
    assert d.turns[1].quality == 0.0 and d.turns[1].logged_action == 0
