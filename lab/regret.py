"""Learning from simulated raters on LCIO-Bench: regret over rounds for per-session learning
on a shared prior, the shared prior alone, and no learning.

    python -m lab.regret --dataset assets/bench/lcio-bench-v2.jsonl --out runs/regret

Any LCIO-Bench file works (v1, v2, ...). Per seed: the 80/20 split of whole dialogues
(`lab.bench_eval.split`); LCIO's planner's classifier and outcome model are fitted on the
training split (its budget multipliers are left at zero: budgets are not what this measures).
Each simulated rater has a hidden taste per (task, location): a population part μ that every
rater shares and an individual part δ_s, both N(0, σ²) in quality units, that the measured
quality does not hold. Each round every rater gets a held-out turn drawn at random, the
policy decides with the rater's preferences (`decide_with`, as the app does), and the rater
rates the answer on the app's 0..2 scale in half steps (stars) from 2·(measured quality +
μ + δ_s) plus noise. The lesson goes to the same `PreferenceBook` the app uses, in one of
three modes. Regret of a turn: the best allowed action's value to this rater (taste-adjusted
quality less the trained reward's cost terms, measured costs) minus the chosen action's.
The three modes see the same turns, tastes and noise (common random numbers).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lab.bench.scenarios import TASKS
from policies.base import Preferences
from policies.bench.dataset import BenchTurn
from policies.bench.observation import TaskClassifier
from policies.bench.outcome import OutcomeModel
from policies.bench.planner import BenchPlanner, BenchPlannerConfig
from policies.lagrange import LagrangeTable
from policies.preferences import Lesson, Mode, PreferenceBook, ShrinkConfig, residual
from policies.profiles import RESOURCES

MODES: tuple[Mode, ...] = ("personal", "shared", "none")
LABELS = {"personal": "per-session on a shared prior", "shared": "shared prior only",
          "none": "no learning"}
ROOMY = {"latency_s": 1e6, "usd": 1e3, "energy_j": 1e9}


@dataclass(frozen=True)
class SimConfig:
    sessions: int = 100  # raters rating at the same time
    rounds: int = 60  # turns each rater rates
    seeds: int = 3
    taste_population: float = 0.15  # σ of μ (every rater shares it)
    taste_individual: float = 0.15  # σ of δ_s
    rating_noise: float = 0.2  # σ on the 0..2 scale, before rounding to half steps


def fit_policy(train: list[list[BenchTurn]]) -> BenchPlanner:
    """LCIO's planner's estimates from the training split, with zero budget multipliers."""
    config = BenchPlannerConfig()
    turns = [t for d in train for t in d]
    clf = TaskClassifier.fit(turns)
    tasks = [clf.predict(t.prompt, t.kinds) for t in turns]
    heard = [any("audio" in e.kinds for e in d[: t.index]) for d in train for t in d]
    outcomes = OutcomeModel.fit(turns, tasks, shrink=config.shrink, heard=heard)
    units = tuple(max(max(v[j] for k, v in outcomes.cost_mean.items() if "#" not in k), 1e-9)
                  for j in range(len(RESOURCES)))
    return BenchPlanner(clf, outcomes, LagrangeTable(RESOURCES, units), config)


def _prepared(policy: BenchPlanner, test: list[list[BenchTurn]]) -> list[dict]:
    """Per held-out turn: observation, mask, the policy's task and estimates, value terms."""
    out = []
    w = policy.config.weights
    for dialogue in test:
        for t in dialogue:
            earlier = tuple(k for e in dialogue[: t.index] for k in e.kinds)
            obs = policy.observe_turn(t.prompt, t.kinds, t.index, None, ROOMY, ROOMY, earlier)
            mask = policy.space.mask_for(list(t.present)) & t.valid
            cost = w.per_s * np.nan_to_num(t.latency_s) + w.per_usd * np.nan_to_num(t.usd)
            out.append({"obs": obs, "mask": mask, "task": policy.task_of(obs), "true_task": t.task_id,
                        "estimate": policy.estimates(obs)["quality"],
                        "quality": np.nan_to_num(t.quality), "cost": cost})
    return out


def simulate(policy: BenchPlanner, test: list[list[BenchTurn]], config: SimConfig, seed: int,
             shrink: ShrinkConfig | None = None) -> dict[str, np.ndarray]:
    """Regret [sessions, rounds] per mode for one seed."""
    turns = _prepared(policy, test)
    if not turns:
        raise ValueError("no held-out turns to rate: the dataset has too few complete dialogues")
    rng = np.random.default_rng(seed)
    cloud = np.array([a.location == "cloud" for a in policy.space.actions])
    mu = rng.normal(0.0, config.taste_population, (len(TASKS), 2))
    delta = rng.normal(0.0, config.taste_individual, (config.sessions, len(TASKS), 2))
    draws = rng.integers(0, len(turns), (config.rounds, config.sessions))
    noise = rng.normal(0.0, config.rating_noise, (config.rounds, config.sessions))
    regret = {m: np.zeros((config.sessions, config.rounds)) for m in MODES}
    for mode in MODES:
        book = PreferenceBook(len(TASKS), policy.space.n, shrink, mode)
        for r in range(config.rounds):
            for s in range(config.sessions):
                turn = turns[draws[r, s]]
                taste = (mu + delta[s])[turn["true_task"]][cloud.astype(int)]
                utility = np.clip(turn["quality"] + taste, 0.0, 1.0)
                value = np.where(turn["mask"], utility - turn["cost"], -np.inf)
                offsets = book.offsets(str(s), turn["task"]) * policy.rating_scale
                prefs = Preferences(quality_offsets=offsets)
                a = policy.decide_with(turn["obs"], turn["mask"], prefs).action
                regret[mode][s, r] = float(value.max() - value[a])
                rating = float(np.clip(np.round((2.0 * utility[a] + noise[r, s]) * 2) / 2, 0.0, 2.0))
                book.add(Lesson(str(s), turn["task"], a,
                                residual(rating, float(turn["estimate"][a]), policy.rating_scale)))
    return regret


def run(dataset: str | Path, out: str | Path, config: SimConfig, shrink: ShrinkConfig) -> dict:
    """Every seed, the summary in `out/regret.json` and the figure beside it."""
    from policies.bench.dataset import complete_dialogues, split

    dialogues = complete_dialogues(dataset)
    runs: dict[str, list[np.ndarray]] = {m: [] for m in MODES}
    for seed in range(config.seeds):
        train, test = split(dialogues, seed)
        for mode, r in simulate(fit_policy(train), test, config, seed, shrink).items():
            runs[mode].append(r)
    curves = {}
    for mode in MODES:
        r = np.concatenate(runs[mode])  # [seeds × sessions, rounds]
        cum = r.cumsum(1)
        curves[mode] = {"mean": r.mean(0).tolist(), "se": (r.std(0, ddof=1) / math.sqrt(len(r))).tolist(),
                        "cumulative_mean": cum.mean(0).tolist(),
                        "cumulative_se": (cum.std(0, ddof=1) / math.sqrt(len(r))).tolist(),
                        "cumulative": float(r.sum(1).mean()),
                        "first_10": float(r[:, :10].mean()), "last_10": float(r[:, -10:].mean())}
    doc = {"dataset": str(dataset), "dialogues": len(dialogues), "config": asdict(config),
           "shrink": asdict(shrink), "curves": curves,
           "command": f"python -m lab.regret --dataset {dataset} --out {out}"}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "regret.json").write_text(json.dumps(doc, indent=1))
    doc["figure"] = str(write_figure(doc, out / "regret"))
    (out / "regret.json").write_text(json.dumps(doc, indent=1))
    return doc


def write_figure(doc: dict, stem: Path) -> Path:
    """Cumulative regret per rater over rounds per mode (95 % bands over raters): a PNG if
    kaleido is installed, else a small HTML file."""
    import plotly.graph_objects as go

    fig = go.Figure()
    colours = {"personal": "#00897b", "shared": "#7e57c2", "none": "#9e9e9e"}
    for mode, c in doc["curves"].items():
        mean, se = c["cumulative_mean"], c["cumulative_se"]
        xs = list(range(1, len(mean) + 1))
        hi = [m + 1.96 * e for m, e in zip(mean, se, strict=True)]
        lo = [m - 1.96 * e for m, e in zip(mean, se, strict=True)]
        fig.add_trace(go.Scatter(x=xs + xs[::-1], y=hi + lo[::-1], fill="toself", opacity=0.2,
                                 line={"width": 0}, fillcolor=colours[mode], showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=xs, y=mean, name=LABELS[mode], mode="lines",
                                 line={"color": colours[mode]}))
    cfg = doc["config"]
    fig.update_layout(title=f"Learning from simulated raters on {Path(doc['dataset']).name}: "
                            f"{cfg['sessions']} raters × {cfg['seeds']} seeds (95 % bands)",
                      xaxis_title="round (turns each rater has rated)",
                      yaxis_title="cumulative regret per rater (value units)",
                      width=820, height=440,
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    try:
        import kaleido  # noqa: F401

        path = stem.with_suffix(".png")
        fig.write_image(path)
    except ImportError:  # no kaleido: plotly's HTML, loading plotly.js from its CDN
        path = stem.with_suffix(".html")
        fig.write_html(path, include_plotlyjs="cdn", full_html=True)
    return path


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", required=True, help="an LCIO-Bench .jsonl file")
    ap.add_argument("--out", required=True, help="folder for regret.json and the figure")
    for name, value in asdict(SimConfig()).items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    for name, value in asdict(ShrinkConfig()).items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = vars(ap.parse_args(argv))
    config = SimConfig(**{k: args[k] for k in asdict(SimConfig())})
    shrink = ShrinkConfig(**{k: args[k] for k in asdict(ShrinkConfig())})
    doc = run(args["dataset"], args["out"], config, shrink)
    for mode, c in doc["curves"].items():
        print(f"{LABELS[mode]:32s} regret/turn: first 10 rounds {c['first_10']:.4f}, "
              f"last 10 {c['last_10']:.4f}; cumulative {c['cumulative']:.3f}")
    print(f"figure: {doc['figure']}")
    return doc


if __name__ == "__main__":
    main()
