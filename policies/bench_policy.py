"""Policies on LCIO-Bench, where every action's outcome is measured: no k-NN guessing.

The code lives in `policies.bench`, one module per concern: `observation` (features and the
task classifier), `outcome` (the outcome model and its worst case), `env` (the CMDP),
`baselines`, `planner` (LCIO's policy) and `recipes` (the paper's RC-A2C); the hindsight oracle is
the lab's (`lab.bench.oracle`). This module names the library's parts in one place.

What is different from M4A1 (`policies.m4a1.env`, `policies.m4a1.planner`):
- Action space `BENCH_SPACE` = ActionSpace(slots=3, local_subsets=True): local or cloud, each
  with any subset of the turn's attachment slots (images and audio both take slots, as the
  benchmark built them: images first, then audio).
- Outcomes: `BenchEnv.step` takes quality, seconds, dollars and joules from the measured row
  of that turn and action. An action that names an empty slot sends only the slots that exist.
- Observation (`bench_observation`, `OBS_DIM` = 33 + 512): only what the app knows when it decides,
  never the benchmark's hidden labels (task, relevance):

      [0:13)  predicted task, one-hot over the bench's 13 tasks (v1's 8 and v2's 5;
              `TaskClassifier` on the prompt and the attachment kinds, fitted on training
              dialogues)
      [13:16) slot i holds an image          [16:19) slot i holds audio
      [19]    prompt length / 100 chars      [20]    turn index (0-based)
      [21]    previous location (-1 none, 0 local, 1 cloud)   [22:25) slots used last turn
      [25:28) remaining budget fractions (seconds, dollars, joules), 1 = untouched
      [28:31) remaining budgets in their units, capped at BIG
      [31]    an earlier turn of the dialogue carried audio   [32] ... carried an image
              (the conversation sent with each call carries earlier files: audio there is
              the largest cloud cost the bench measured)
      [33:545) the prompt's words and word pairs, counted in 512 CRC-32 buckets
              (`policies.bench.prompt_features`): what prompt-aware quality and the router read

- Guard (`policies.guard`): a policy cannot know this turn's cost before acting, so an action
  may start when a quantile of the costs seen in training for its shape (`OutcomeModel`) plus
  a pacing reserve fits what is left; when none does the turn is refused (quality 0, no cost),
  and an admitted turn that would pass a budget is cut there (`BenchEnv`), never overspent.
- Reward (`BenchWeights`, the plain reward): quality − 0.02·seconds − 20·dollars per turn;
  budgets are hard constraints (`info["costs"]`), not reward terms.
"""

from policies.bench.baselines import BenchCloudOnly, BenchGreedy, BenchLocalOnly, BenchRandom
from policies.bench.env import BenchEnv, BenchEnvConfig
from policies.bench.observation import (
    AUDIO,
    BENCH_BUDGETS,
    BENCH_SPACE,
    BIG,
    FRAC,
    HEARD,
    IMAGE,
    OBS_DIM,
    PREV_LOC,
    PREV_SLOTS,
    PROMPT,
    PROMPT_LEN,
    REMAIN,
    SEEN,
    SLOTS,
    TASK,
    TURN,
    BenchWeights,
    TaskClassifier,
    bench_observation,
    kinds_from_obs,
    observation_space,
)
from policies.bench.outcome import OutcomeModel, action_shape, affordable
from policies.bench.planner import BenchPlanner, BenchPlannerConfig, is_bench_policy_file
from policies.bench.recipes import BenchRCA2C
from policies.profiles import RESOURCES

__all__ = [
    "AUDIO", "BENCH_BUDGETS", "BENCH_SPACE", "BIG", "FRAC", "HEARD", "IMAGE", "OBS_DIM", "PREV_LOC", "PROMPT",
    "PREV_SLOTS", "PROMPT_LEN", "REMAIN", "RESOURCES", "SEEN", "SLOTS", "TASK", "TURN",
    "BenchCloudOnly", "BenchEnv", "BenchEnvConfig", "BenchGreedy", "BenchLocalOnly", "BenchRandom",
    "BenchRCA2C", "BenchPlannerConfig", "BenchPlanner", "BenchWeights", "OutcomeModel",
    "TaskClassifier", "action_shape", "affordable", "bench_observation", "is_bench_policy_file",
    "kinds_from_obs", "observation_space",
]
