"""The observation every LCIO policy reads, and how the app builds it at a turn.

Layout (float32, `OBS_DIM` = 38), the same in the simulator and the app:

    [0:25)  paper state: the last 5 per-turn states, oldest first, each
            [previous location (-1 none, 0 local, 1 cloud), view0..2 sent last turn, task id];
            missing turns are padded with -1
    [25:28) which attachment slots exist this turn (0/1)
    [28:31) association of each slot with the prompt (raw similarity)
    [31]    turn index in the dialogue (0-based)
    [32:35) remaining budget fractions (latency, dollars, energy), 1 = untouched
    [35:38) remaining budgets in their units (seconds, dollars, joules), capped at BIG
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from policies.base import Action, ActionSpace, TurnContext
from policies.m4a1.data import TASKS
from policies.profiles import RESOURCES

SLOTS, SPAN, STEP_DIM = 3, 5, 5
HIST = slice(0, SPAN * STEP_DIM)
PRESENT = slice(25, 28)
ASSOC = slice(28, 31)
TURN = 31
FRAC = slice(32, 35)
REMAIN = slice(35, 38)
OBS_DIM = 38
BIG = 1e6  # stands in for an unlimited budget


def step_state(previous: Action | None, task: int) -> list[float]:
    """One turn's paper state: what was done last turn, and this turn's task."""
    if previous is None:
        return [-1.0, 0.0, 0.0, 0.0, float(task)]
    sent = [1.0 if i in previous.attachments else 0.0 for i in range(SLOTS)]
    if previous.location == "local":
        sent = [0.0] * SLOTS
    return [0.0 if previous.location == "local" else 1.0, *sent, float(task)]


def history_window(states: Sequence[Sequence[float]]) -> np.ndarray:
    """The last `SPAN` per-turn states, padded with -1 at the front (the paper's stacking)."""
    last = [list(s) for s in states[-SPAN:]]
    pad = [[-1.0] * STEP_DIM] * (SPAN - len(last))
    return np.asarray(pad + last, dtype=np.float32).reshape(-1)


def budget_features(remaining: dict[str, float], budgets: dict[str, float]
                    ) -> tuple[list[float], list[float]]:
    frac, rem = [], []
    for r in RESOURCES:
        b, left = budgets.get(r, float("inf")), remaining.get(r, float("inf"))
        frac.append(1.0 if not np.isfinite(b) else float(np.clip(left / b, -10.0, 1.0)) if b > 0 else 0.0)
        rem.append(float(np.clip(left, -BIG, BIG)))
    return frac, rem


def build_observation(history: Sequence[Sequence[float]], present: Sequence[bool],
                      association: Sequence[float], turn_index: int,
                      remaining: dict[str, float], budgets: dict[str, float]) -> np.ndarray:
    """Assemble the observation from what is known at decision time.

    `history` holds the per-turn states up to and including this turn (see `step_state`).
    """
    frac, rem = budget_features(remaining, budgets)
    obs = np.concatenate([
        history_window(history), np.asarray(present, dtype=np.float32),
        np.asarray(association, dtype=np.float32), [turn_index], frac, rem,
    ]).astype(np.float32)
    assert obs.shape == (OBS_DIM,)
    return obs


# A keyword classifier over the four M4A1 task categories: cheap, offline, explainable.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Assistive System": ("turn on", "turn off", "turn the", "switch", "temperature", "light",
                         "lock", "door", "thermostat", "alarm", "remind", "timer", "volume",
                         "open the", "close the", "air condition", "heater", "fan", "curtain",
                         "play", " tv", "oven", "preheat", "start the", "stop the", "vacuum"),
    "Message Editing": ("message", "email", "e-mail", "text to", "reply", "rewrite", "edit",
                        "draft", "send", "polish", "write a", "write an", "tell my", "let my",
                        "inform", "note to", "leave a note", "notify"),
    "Recommendation": ("recommend", "suggest", "should i", "what should", "any idea", "ideas",
                       "best way", "advice", "what can i", "good for", "which one"),
}


def classify_task(prompt: str) -> int:
    """Task id (index into `TASKS`) by keyword votes; questions default to "Query"."""
    text = prompt.lower()
    votes = {t: sum(len(re.findall(re.escape(k), text)) for k in ks) for t, ks in _KEYWORDS.items()}
    best = max(votes, key=lambda t: votes[t])
    return TASKS.index(best) if votes[best] > 0 else TASKS.index("Query")


class AppObservationBuilder:
    """Per-session helper for the app: remembers the dialogue's history and spending.

    Call `observe(...)` before deciding and `record(action, costs)` after the answer.
    """

    def __init__(self, budgets: dict[str, float]):
        self.budgets = dict(budgets)
        self.remaining = dict(budgets)
        self.previous: Action | None = None
        self.states: list[list[float]] = []

    def observe(self, prompt: str, present: Sequence[bool], association: Sequence[float],
                task: int | None = None) -> np.ndarray:
        task = classify_task(prompt) if task is None else task
        present = list(present)[:SLOTS] + [False] * (SLOTS - len(present))
        association = list(association)[:SLOTS] + [0.0] * (SLOTS - len(association))
        self.states.append(step_state(self.previous, task))
        return build_observation(self.states, present, association, len(self.states) - 1,
                                 self.remaining, self.budgets)

    def record(self, action: Action, costs: dict[str, float]) -> None:
        self.previous = action
        for r, c in costs.items():
            if r in self.remaining:
                self.remaining[r] -= c


M4A1_MEAN_ASSOCIATION = 0.209  # what a present slot gets: no offline vision-language embedding


def context_observation(context: TurnContext, space: ActionSpace) -> np.ndarray:
    """The M4A1 layout (38 numbers) for what the app knows about a turn. Two inputs the app
    cannot measure before deciding: association (a present slot gets the M4A1 mean) and the task
    (`classify_task`, a keyword classifier)."""
    actions = space.actions
    states: list[list[float]] = []
    previous = None
    for index, prompt in zip(context.past_actions, context.past_prompts, strict=False):
        states.append(step_state(previous, classify_task(prompt)))
        previous = actions[index] if index < len(actions) else None
    states.append(step_state(previous, classify_task(context.prompt)))
    present = [i < len(context.kinds) for i in range(SLOTS)]
    association = [M4A1_MEAN_ASSOCIATION if p else 0.0 for p in present]
    return build_observation(states, present, association, context.turn_index,
                             context.remaining, context.limits)
