"""Does the paper recipe's training environment behave as the paper's own, step for step?

    git clone https://github.com/liangqiyuan/TMO ../TMO
    python -m lab.m4a1.paper_env_check --paper-code ../TMO --dataset ../shared/data/m4a1/M4A1.json

Why: `lab.m4a1.recipes` trains A2C/PPO in our `OffloadEnv` with the paper's switches (budgets
drawn per episode, reward 0 once over budget, next states that follow the log). If its A2C
figure differs from the paper's, the environment is the first suspect. This plays the same
dialogues with the same budgets and the same random actions in the paper's `M4A1_Env`
(imported from a checkout of its code, nothing copied) and in ours, and reports the largest
difference in any observation the recipe sees or any reward.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

import numpy as np

from lab.m4a1.protocol import PaperSimulator, paper_split
from lab.m4a1.recipes import recipe_observation
from policies.m4a1.data import load_dialogues
from policies.m4a1.env import EnvConfig, OffloadEnv


def compare(paper_code: str, dataset: str, split_seed: int = 1, episodes: int = 300,
            seed: int = 0) -> dict[str, float]:
    """Largest |difference| over `episodes` random (dialogue, budgets, actions) rollouts."""
    sys.path.insert(0, paper_code)
    from tmo.data import split_dataset  # the paper's code, from its checkout
    from tmo.env import M4A1_Env

    with open(dataset) as f:
        raw = json.load(f)
    random.seed(split_seed)
    paper_train, _ = split_dataset(raw, test_ratio=0.2)
    train, _, _ = paper_split(load_dialogues(dataset), split_seed)
    assert [d.id for d in train] == [d["id"] for d in paper_train], "splits differ"
    theirs = M4A1_Env(paper_train, [1, 1 / 3, 1 / 3, 1 / 3], "Jetson TX2", "Wired", 30, 0.05,
                      True, 5, True)
    config = EnvConfig(budget_sampling="paper", overspend="zero_reward", history="logged", guard=False)
    ours = OffloadEnv(train, PaperSimulator(train), config)
    rng = np.random.default_rng(seed)
    worst_obs = worst_reward = 0.0
    steps = 0
    for _ in range(episodes):
        i = int(rng.integers(len(train)))
        lat, usd = float(rng.uniform(0.1, 35.0)), float(rng.uniform(0.0, 0.07))
        theirs.current_episode, theirs.current_step = i, 0
        (theirs.current_states, theirs.current_actions, theirs.current_rewards,
         theirs.association_scores) = theirs.episodes[i]
        theirs.remaining_latency, theirs.remaining_usage = lat, usd
        their_obs = np.array(list(theirs.current_states[0]) + [lat, usd], dtype=np.float32)
        our_obs, _ = ours.reset(options={"dialogue": i, "budgets": {"latency_s": lat, "usd": usd}})
        done = False
        while not done:
            worst_obs = max(worst_obs, float(np.abs(recipe_observation(our_obs) - their_obs).max()))
            a = int(rng.integers(ours.action_space.n))
            their_obs, their_r, done, _, _ = theirs.step(a)
            our_obs, our_r, our_done, _, _ = ours.step(a)
            assert our_done == done, "episode lengths differ"
            worst_reward = max(worst_reward, abs(float(their_r) - our_r))
            steps += 1
    return {"steps": steps, "max_abs_obs_difference": worst_obs, "max_abs_reward_difference": worst_reward}


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paper-code", required=True, help="a checkout of github.com/liangqiyuan/TMO")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--split-seed", type=int, default=1)
    ap.add_argument("--episodes", type=int, default=300)
    args = ap.parse_args(argv)
    out = compare(args.paper_code, args.dataset, args.split_seed, args.episodes)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
