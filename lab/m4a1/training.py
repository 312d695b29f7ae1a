"""Fitting LCIO's M4A1 planner on training dialogues: its k-NN reward model and the dialogue
statistics its look-ahead uses (how often another turn follows, which task comes next). There is
nothing else to learn: the budgets are kept by the hard guard (`policies.guard`). The planner
itself, and how it decides, is `policies.m4a1.planner`."""

from __future__ import annotations

from policies.m4a1.data import Dialogue
from policies.m4a1.planner import DialogueStats, LookaheadConfig, LookaheadPlanner
from policies.m4a1.simulator import QualityModel
from policies.profiles import cost_table


def train_planner(train: list[Dialogue], config: LookaheadConfig | None = None) -> LookaheadPlanner:
    """The planner fitted on `train` only (deterministic: no sampling anywhere)."""
    config = config or LookaheadConfig()
    costs = cost_table(config.device, config.network)
    quality = QualityModel.fit(train, costs.space, ties=config.knn_ties)
    return LookaheadPlanner(quality, costs, config=config, stats=DialogueStats.fit(train, costs.space))
