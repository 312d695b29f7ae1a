"""LCIO's planner on LCIO-Bench, the app's shipped policy: outcome estimates, less a price on
each budget that looks ahead to the turns the dialogue may still need it for (learned by dual
ascent on how often later turns were refused), under the hard guard that keeps the budgets.

The prices change a few decisions only at tight budgets (LCIO-Bench v2, 3 seeds: reward 0.3898
with them and 0.3835 without at 0.35×, 0.3457 and 0.3474 at 0.25×, the same to 4 decimals at
0.1× and 0.5× to 3×); they do not keep the budgets by themselves (`lab.guard_off`:
`docs/results.md`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from policies.base import (
    Action,
    ActionSpace,
    Decision,
    Policy,
    Preferences,
    RatingLearner,
    TurnContext,
)
from policies.bench.baselines import (
    _Estimates,
)
from policies.bench.dataset import BenchTurn
from policies.bench.env import BenchEnv, BenchEnvConfig
from policies.bench.observation import (
    ARTIFACT_VERSION,
    BENCH_BUDGETS,
    BENCH_SPACE,
    OBS_DIM,
    REMAIN,
    TASK,
    TURN,
    BenchWeights,
    TaskClassifier,
    bench_observation,
    context_observation,
)
from policies.bench.outcome import OutcomeModel, affordable
from policies.bench.prompt_quality import PromptQualityModel, turn_observations
from policies.bench.steer import steered
from policies.bench.tasks import TASKS
from policies.holdgil import argmax
from policies.lagrange import LagrangeTable
from policies.profiles import RESOURCES


@dataclass
class BenchPlannerConfig:
    seed: int = 0
    epochs: int = 60
    lr: float = 0.5  # dual step size, decayed as lr / sqrt(1 + epoch)
    scale_range: tuple[float, float] = (0.3, 1.7)  # training budgets: nominal × U(range)
    budgets: dict[str, float] = field(default_factory=lambda: dict(BENCH_BUDGETS))
    weights: BenchWeights = field(default_factory=BenchWeights)
    shrink: float = 3.0
    margin: float = 1.25  # measured costs are noisy: a held-out turn once cost 1.11× the max seen
    temperature: float = 0.05  # only for the reported probability; decisions are argmax
    tolerance: float = 0.02  # allowed mean shortfall per decision, in units of the dearest call
    prompt_quality: bool = True  # predict quality from the prompt (`PromptQualityModel`)
    ridge_alphas: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)  # its ridge penalty, by CV


class BenchPlanner(Policy, RatingLearner):
    """LCIO's planner on the bench: argmax over allowed actions of
    q̂(task, shape) − w·ĉ(a) − Σ_k λ_k(turn, remaining_k) · ĉ_k(a)/unit_k, with the hard guard
    on worst-case costs. q̂ and ĉ come from `OutcomeModel` (training turns' measurements);
    λ from a `LagrangeTable` learned by dual ascent on training rollouts (see `train`): in each
    (turn, remaining budget) cell, λ_k rises when later turns of the dialogue were refused for
    lack of resource k and decays otherwise."""

    name = "lcio-lookahead"
    uses_guard = True
    steerable = True  # decide_with honours a person's weights and rating offsets

    def __init__(self, classifier: TaskClassifier, outcomes: OutcomeModel, table: LagrangeTable,
                 config: BenchPlannerConfig | None = None, space: ActionSpace = BENCH_SPACE,
                 offsets: np.ndarray | None = None, quality_model: PromptQualityModel | None = None):
        self.classifier, self.outcomes, self.table = classifier, outcomes, table
        self.quality_model = quality_model
        self.config, self.space = config or BenchPlannerConfig(), space
        self.est = _Estimates(outcomes, self.config.weights, space)
        self._units = np.asarray(table.units, dtype=np.float64)
        self.offsets = np.zeros((len(TASKS), space.n)) if offsets is None else np.asarray(offsets)

    # --- quality model (prompt-aware) -----------------------------------------------------
    def predicted(self, observation: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(quality, mean costs, worst costs, expected plain reward) per action: quality from
        the prompt-aware model when this policy has one, else the outcome table's."""
        q, mean, worst, r = self.est(observation)
        if self.quality_model is not None:
            q = self.quality_model.predict(observation, self.space)
            r = self.est.weights.reward(q, mean[:, 0], mean[:, 1], mean[:, 2])
        return q, mean, worst, r

    @staticmethod
    def fit_quality_model(dialogues: list[list[BenchTurn]], classifier: TaskClassifier,
                          alphas: tuple[float, ...]) -> PromptQualityModel:
        """The prompt-aware quality model on `dialogues`, from the observations the policy
        would see at each of their turns (budgets do not enter it); the ridge penalty by
        cross-validation over whole dialogues of the same data."""
        obs, turns = turn_observations(dialogues, classifier)
        return PromptQualityModel.fit_cv(obs, turns, [t.dialogue for t in turns], tuple(alphas))

    # --- decision ------------------------------------------------------------------------
    def decide(self, observation: np.ndarray, mask: np.ndarray, guard: bool = True) -> Decision:
        return self.decide_with(observation, mask, None, guard)

    def decide_with(self, observation: np.ndarray, mask: np.ndarray,
                    preferences: Preferences | None = None, guard: bool = True) -> Decision:
        """`decide` under one person's reward weights (`policies.bench.steer`) and the quality
        offsets their ratings and the shared prior taught (scaled by the quality weight)."""
        q, mean, worst, r = self.predicted(observation)
        task = argmax(observation[TASK])
        offset = self.offsets[task]
        if preferences is not None and preferences.quality_offsets is not None:
            offset = offset + np.asarray(preferences.quality_offsets, dtype=np.float64)
        q, r = q + offset, r + offset
        if preferences is not None:
            r = steered(q, mean, r, preferences.weights, self.config.weights, self._units)
        remaining = np.asarray(observation[REMAIN], dtype=np.float64)
        lam = self.table.lookup(int(observation[TURN]), remaining)
        price = (mean / self._units[None, :]) @ lam
        allowed = np.asarray(mask, dtype=bool).copy()
        why = ""
        if guard:  # defence in depth: never trust the caller to have applied the guard
            guarded = allowed & affordable(remaining, worst)
            if guarded.any():
                allowed = guarded
            elif allowed.any():
                # the caller (the app) guards its own real costs, which it knows better than
                # the bench's worst cases: choose among what it allows rather than refuse
                why = " (the bench's worst case fits nowhere; the caller's guard allows it)"
        if not allowed.any():
            return Decision(0, "local", (), 0.0, {}, {}, "no action is affordable: refuse the turn")
        score = np.where(allowed, r - price, -np.inf)
        a = argmax(score)
        z = np.exp((score - score[a]) / self.config.temperature)
        act = self.space.actions[a]
        return Decision(a, act.location, act.attachments, float(z[a] / z.sum()),
                        {"quality": q.tolist(), "reward": r.tolist(), "price": price.tolist(),
                         "latency_s": mean[:, 0].tolist(), "usd": mean[:, 1].tolist(),
                         "energy_j": mean[:, 2].tolist()},
                        dict(zip(self.table.resources, lam.tolist(), strict=False)),
                        f"{act.location} with {len(act.attachments)} attachment(s): expected "
                        f"reward {r[a]:.2f}, budget price {price[a]:.2f}{why}")

    def observe(self, context: TurnContext) -> np.ndarray:
        """The contract's observation: the bench layout, the task from this policy's classifier."""
        return context_observation(context, self.classifier, self.space)

    def observe_turn(self, prompt: str, kinds: tuple[str, ...] | list[str], turn: int,
                     previous: Action | None, remaining: dict[str, float],
                     budgets: dict[str, float], earlier: tuple[str, ...] | list[str] = ()) -> np.ndarray:
        """The same observation from loose arguments (the evaluator's timing of it)."""
        task = self.classifier.predict(prompt, tuple(kinds))
        return bench_observation(task, tuple(kinds), prompt, turn, previous, remaining, budgets,
                                 tuple(earlier))

    def estimates(self, observation: np.ndarray) -> dict[str, np.ndarray]:
        """Per-action quality estimate before any person's preferences (with the artifact's
        offsets): what a rating is compared with."""
        q = self.predicted(observation)[0] + self.offsets[self.task_of(observation)]
        return {"quality": q}

    @staticmethod
    def task_of(observation: np.ndarray) -> int:
        """The predicted task the observation carries (index into the bench's TASKS)."""
        return argmax(np.asarray(observation)[TASK])

    rating_scale = 0.5  # the app rates on 0..2 (M4A1's scale); bench quality is 0..1

    # --- training and persistence -------------------------------------------------------
    @classmethod
    def train(cls, dialogues: list[list[BenchTurn]], config: BenchPlannerConfig | None = None,
              progress: bool = True) -> tuple[BenchPlanner, list[dict[str, float]]]:
        """Fit classifier and outcome model on `dialogues`, then the multipliers by dual
        ascent on rollouts of the same dialogues with measured costs and sampled budgets."""
        from tqdm.auto import tqdm

        config = config or BenchPlannerConfig()
        turns = [t for d in dialogues for t in d]
        clf = TaskClassifier.fit(turns)
        tasks = [clf.predict(t.prompt, t.kinds) for t in turns]
        heard = [any("audio" in e.kinds for e in d[: t.index]) for d in dialogues for t in d]
        outcomes = OutcomeModel.fit(turns, tasks, shrink=config.shrink, heard=heard)
        outcomes.margin = config.margin
        units = tuple(max(max(v[j] for k, v in outcomes.cost_mean.items() if "#" not in k), 1e-9)
                      for j in range(len(RESOURCES)))
        table = LagrangeTable(RESOURCES, units, lr=config.lr)
        quality = (cls.fit_quality_model(dialogues, clf, config.ridge_alphas)
                   if config.prompt_quality else None)
        policy = cls(clf, outcomes, table, config, quality_model=quality)
        env = BenchEnv(dialogues, clf, outcomes,
                       BenchEnvConfig(dict(config.budgets), "scale", config.scale_range,
                                      config.weights, guard=True))
        env.reset(seed=config.seed)
        rng = np.random.default_rng(config.seed)
        log: list[dict[str, float]] = []
        for epoch in tqdm(range(config.epochs), desc=f"bench planner seed {config.seed}",
                          disable=not progress, leave=False):
            samples: list[tuple[int, int, int, float]] = []
            rewards, refused = [], []
            for i in rng.permutation(len(dialogues)):
                obs, _ = env.reset(options={"dialogue": int(i)})
                steps, done = [], False
                while not done:
                    mask = env.action_masks()
                    rem = obs[REMAIN].astype(np.float64)
                    turn = int(obs[TURN])
                    # A refused turn is what running out costs: charge the shortfall of its
                    # cheapest action's worst case, so λ rises where early spending leaves
                    # later turns unanswerable.
                    short = np.zeros(len(RESOURCES))
                    if not mask.any():
                        over = env.worst_costs()[env.presence_mask()] - rem[None, :]
                        short = np.maximum(over[np.argmin((over / np.asarray(units)).max(1))], 0.0)
                    action = policy.decide(obs, mask).action if mask.any() else -1
                    obs, rwd, done, _, info = env.step(action)
                    steps.append((turn, rem, short, info["refused"]))
                    rewards.append(rwd)
                    refused.append(info["refused"])
                # Constraint per decision: the shortfall it leaves to later turns (in units of
                # the dearest call) stays under `tolerance`. The guard already makes spending
                # over budget impossible, so running short (refusing) is what λ must price.
                short = np.array([s[2] for s in steps])
                later = np.concatenate([np.cumsum(short[::-1], axis=0)[::-1][1:],
                                        np.zeros((1, len(RESOURCES)))])
                for j, (turn, rem, _, was_refused) in enumerate(steps):
                    if was_refused:
                        continue
                    t_b, b_b = table.cell(turn, rem)
                    for k in range(len(RESOURCES)):
                        g = later[j, k] / units[k] - config.tolerance
                        samples.append((k, t_b, int(b_b[k]), float(g)))
            table.dual_step(samples, lr=config.lr / math.sqrt(1 + epoch))
            log.append({"epoch": epoch, "reward": float(np.mean(rewards)),
                        "refused_share": float(np.mean(refused)),
                        **{f"lambda_{r}": float(table.values[k].mean()) for k, r in enumerate(RESOURCES)}})
        return policy, log

    def save(self, path: str | Path, command: str = "", extra: dict | None = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cfg = asdict(self.config)
        doc = {"version": ARTIFACT_VERSION, "policy": self.name, "dataset_format": "lcio-bench",
               "action_space": {"slots": self.space.slots, "local_subsets": self.space.local_subsets},
               "observation": f"policies.bench_policy.bench_observation (OBS_DIM {OBS_DIM})",
               "command": command, "config": cfg, "lagrange": self.table.to_dict(),
               "classifier": self.classifier.to_dict(), "outcomes": self.outcomes.to_dict(),
               "offsets": self.offsets.tolist(),
               "quality_model": self.quality_model.to_dict() if self.quality_model else None,
               **(extra or {})}
        path.write_text(json.dumps(doc))

    @classmethod
    def load(cls, path: str | Path) -> BenchPlanner:
        doc = json.loads(Path(path).read_text())
        cfg = dict(doc["config"])
        cfg["scale_range"] = tuple(cfg["scale_range"])
        cfg["weights"] = BenchWeights(**cfg["weights"])
        space = ActionSpace(**doc["action_space"])
        quality = doc.get("quality_model")
        return cls(TaskClassifier(**doc["classifier"]), OutcomeModel(**doc["outcomes"]),
                   LagrangeTable.from_dict(doc["lagrange"]), BenchPlannerConfig(**cfg), space,
                   np.asarray(doc["offsets"]), PromptQualityModel(**quality) if quality else None)


def is_bench_policy_file(path: str | Path) -> bool:
    try:
        return json.loads(Path(path).read_text()).get("dataset_format") == "lcio-bench"
    except (OSError, ValueError, AttributeError):
        return False


# ------------------------------------------------------------------------------ oracle
