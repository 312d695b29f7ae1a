"""Does any dialogue overrun a budget? 10,000 simulated ones through the real engine and guard.

    python -m app.tools.guard_sim [--dialogues 10000] [--seed 0]

Each dialogue gets random budgets (0.1x to 3x the defaults, per resource), a random model of
the shipped price table, and 1-20 turns of random text (multi-byte characters, lone
surrogates) with random attachments: images of up to the pixel cap and audio of up to the
length cap, as measured at upload. The turns run through the app's own `Engine` (the guard's
quantile + pacing admission, refusals, the run-time bound and deadline, guarded fallback,
`BudgetLedger`); only the models are simulated, and they do not keep to the predictions:
each answer's waiting time is drawn around the prediction, up to the worst case, exactly the
worst case, or up to 3x past it (a machine far slower than ever measured), its local energy
at up to the most power the meter can charge. What the simulated backend cannot do is what a
real one cannot: bill more dollars than the tokens it may send (`max_new_tokens`, capped by
the guard) or run past the deadline the engine sets (`time_left_s`: it stops there, booked
within the engine's stop margin). One cloud call in ten breaks midway after spending part of
its dollars, so the local fallback has to fit in what is left. Prints dialogues, turns,
answers stopped at a budget's deadline, refusals (overall and for the dialogues whose
tightest budget is 0.5x or more) and overspends (budgets spent beyond their limits); exits 1
on any overspend. Pure Python, no model, no log file.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.engine import STOP_MARGIN_S, Engine
from app.guard import local_power_w
from app.session import BudgetLedger, Cost, Session
from backends.base import Backend
from backends.config import Settings
from backends.errors import CloudStreamDropped
from backends.pricing import PriceTable
from backends.types import Attachment, ChatRequest, Completion
from policies.base import ActionSpace, Decision, Policy

SPACE = ActionSpace(slots=3, local_subsets=True)  # the app's space
CHARSETS = ("plain ascii text ", "é ü ß ", "漢字かな ", "😀🚀 ", "\ud800 ")


@dataclass
class Plan:
    """What the next simulated answer on one path would cost if nothing stopped it, and
    whether it breaks midway."""

    cost: Cost = Cost()
    break_after_usd: float | None = None


class SimBackend(Backend):
    """Answers with the cost the driver planned, stopped where the engine's deadline falls."""

    def __init__(self, name: str, rng: random.Random) -> None:
        self.name = name
        self.plan = Plan()
        self.rng = rng
        self.stopped = 0  # answers the deadline cut

    def stream(self, request: ChatRequest) -> Iterator[str | Completion]:
        plan, self.plan = self.plan, Plan()
        yield "simulated "
        if plan.break_after_usd is not None:
            raise CloudStreamDropped("The simulated stream broke.", cost_usd=plan.break_after_usd)
        yield "answer"
        cost, finish = plan.cost, "stop"
        deadline = request.time_left_s
        if deadline is not None and cost.latency_s > deadline:  # the watchdog stops it
            # booked within the margin (and never later than the answer would have ended)
            ran = min(cost.latency_s, deadline + self.rng.uniform(0.0, STOP_MARGIN_S))
            share = ran / cost.latency_s
            cost, finish = Cost(usd=cost.usd * share, latency_s=ran,
                                energy_j=cost.energy_j * share), "cancelled"
            self.stopped += 1
        yield Completion(text="simulated answer", backend=self.name, model=f"sim-{self.name}",
                         ttft_s=0.0, latency_s=cost.latency_s, prompt_tokens=1,
                         completion_tokens=0,  # the speed model learns nothing from a simulation
                         cost_usd=cost.usd, energy_j=cost.energy_j, finish_reason=finish)


class RandomPolicy(Policy):
    """Any action the mask allows, uniformly."""

    name = "random"

    def __init__(self, rng: random.Random) -> None:
        self.space = SPACE
        self.rng = rng

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        i = self.rng.choice([int(j) for j in np.flatnonzero(mask)])
        action = self.space.actions[i]
        return Decision(i, action.location, action.attachments, 1.0)


class MemoryLog:
    """Takes the engine's rows and keeps none (the budget does not depend on the log)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def log_turn(self, row: dict[str, Any]) -> int:
        return next(self._ids)

    def session_lengths(self) -> dict[int, int]:
        return {}  # no earlier sessions: pacing uses LCIO_GUARD_TURNS


def random_text(rng: random.Random, limit: int) -> str:
    n = rng.choice([0, rng.randint(1, 80), rng.randint(1, limit)])
    pieces = rng.choices(CHARSETS, k=n // 4 + 1)
    return "".join(pieces)[:n]


def random_attachments(rng: random.Random, settings: Settings) -> list[Attachment]:
    out: list[Attachment] = []
    for k in range(rng.choice([0, 0, 1, 1, 2, 3, 4])):
        if rng.random() < 0.6:
            if rng.random() < 0.5:
                width, height = rng.randint(16, 2000), rng.randint(16, 2000)
            else:  # large and oddly shaped, up to the pixel cap
                width = rng.randint(16, 40_000)
                height = max(1, min(rng.randint(16, 40_000), settings.max_image_pixels // width))
            out.append(Attachment("image", Path(f"sim-{k}.png"), f"{k:064x}", "image/png",
                                  width=width, height=height))
        else:
            tier = rng.random()
            cap = 30.0 if tier < 0.5 else 300.0 if tier < 0.8 else settings.max_audio_s
            out.append(Attachment("audio", Path(f"sim-{k}.wav"), f"{k + 8:064x}", "audio/wav",
                                  duration_s=rng.uniform(0.1, cap)))
    return out


def draw(rng: random.Random, expected: Cost, worst: Cost, held: Cost, watts: float) -> Cost:
    """What an answer would cost unstopped: waiting time around the prediction, up to the
    worst case, exactly it, or up to 3x past it; energy at up to `watts` for that time (the
    meter's most); dollars as the waiting time's share of the worst case, never past what the
    tokens it may send can cost (`held.usd`, the worst case at the guard's token cap)."""
    mode = rng.random()
    if mode < 0.3:
        latency = expected.latency_s * rng.lognormvariate(0.0, 0.7)
    elif mode < 0.55:
        latency = worst.latency_s * rng.random()
    elif mode < 0.8:
        latency = worst.latency_s
    else:
        latency = worst.latency_s * rng.uniform(1.0, 3.0)
    share = latency / worst.latency_s if worst.latency_s > 0 else 1.0
    usd = min(held.usd, worst.usd * min(1.0, share * rng.uniform(0.5, 1.5)))
    energy = latency * watts * rng.uniform(0.3, 1.0) if worst.energy_j > 0 else 0.0
    return Cost(usd=usd, latency_s=latency, energy_j=energy)


def simulate(dialogues: int, seed: int, settings: Settings | None = None) -> Counter[str]:
    """Run the dialogues; returns the counts the script prints."""
    rng = random.Random(seed)
    settings = settings or Settings(local_device="cpu")  # no GPU probe: nothing is loaded
    table = PriceTable.load(settings.price_table)
    models = sorted(table.prices)
    backends = {"local": SimBackend("local", rng), "cloud": SimBackend("cloud", rng)}
    watts = local_power_w(settings)
    policy = RandomPolicy(rng)
    model = models[0]

    def price(prompt: int, new: int, audio: int, image: int) -> float:
        return table.worst_case_cost(model, prompt, new, audio, image)

    engine = Engine(MemoryLog(), lambda name: policy, backends.__getitem__,  # type: ignore[arg-type]
                    settings=settings, price_usd=price)
    default = BudgetLedger().limit
    limit_chars = settings.local_context_tokens * 3
    counts: Counter[str] = Counter()
    for _ in range(dialogues):
        model = rng.choice(models)
        scale = [rng.uniform(0.1, 3.0) for _ in range(3)]
        roomy = min(scale) >= 0.5
        limit = Cost(usd=default.usd * scale[0], latency_s=default.latency_s * scale[1],
                     energy_j=default.energy_j * scale[2])
        session = Session(policy_name="random", ledger=BudgetLedger(limit=limit))
        counts["dialogues"] += 1
        for _turn in range(rng.randint(1, 20)):
            counts["turns"] += 1
            counts["turns, budgets >= 0.5x"] += roomy
            files = random_attachments(rng, settings)
            text = random_text(rng, limit_chars) or ("" if files else "hi")
            for event in engine.run(session, text, files):  # type: ignore[arg-type]
                rec = event.record
                if event.kind in ("decision", "fallback") and rec.taken is not None:
                    where = rec.location
                    expected = rec.expected or rec.worst[rec.taken]
                    plan = Plan(draw(rng, expected, rec.worst[rec.taken], rec.held, watts))
                    if where == "cloud" and rng.random() < 0.1:
                        plan.break_after_usd = rec.held.usd * rng.random()
                    backends[where].plan = plan
                elif event.kind == "rejected":
                    budget = "budget" in rec.error
                    counts["refused (budget)" if budget else "refused (input)"] += 1
                    counts["refused (budget), budgets >= 0.5x"] += budget and roomy
                elif event.kind == "done":
                    counts[rec.status] += 1
                    counts["cloud" if rec.location == "cloud" else "local"] += 1
                    counts["fallbacks"] += bool(rec.fallback)
            if session.ledger.overspent():
                counts["overspends"] += 1
        counts["dialogues ending with a budget under 10% left"] += min(
            session.ledger.remaining_fractions().values()) < 0.1
    counts["stopped at a deadline"] = sum(b.stopped for b in backends.values())
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogues", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = simulate(args.dialogues, args.seed)
    seconds = time.perf_counter() - started
    order = ["dialogues", "turns", "answered", "cloud", "local", "fallbacks", "failed",
             "cancelled", "stopped at a deadline", "refused (budget)", "refused (input)",
             "turns, budgets >= 0.5x", "refused (budget), budgets >= 0.5x",
             "dialogues ending with a budget under 10% left", "overspends"]
    for key in order:
        print(f"{key:>48}: {counts.get(key, 0):,}")
    print(f"{'seconds':>48}: {seconds:.1f}")
    return 1 if counts["overspends"] else 0


if __name__ == "__main__":
    sys.exit(main())
