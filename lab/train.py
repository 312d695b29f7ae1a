"""Train LCIO's planner policy and save it with its config: `python -m lab.train`.

    python -m lab.train --dataset ../shared/data/m4a1/M4A1.json --seed 0 \
        --split all --out assets/policy/rcrl.json
    python -m lab.train --dataset assets/bench/lcio-bench-v2.jsonl --seed 0 \
        --split all --out assets/policy/rcrl-bench.json    (the app's policy)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from lab.m4a1.training import train_planner
from policies.artifacts import DEFAULT_DATASET, M4A1_POLICY_PATH
from policies.m4a1.data import load_dialogues, split_dialogues
from policies.m4a1.planner import LookaheadConfig


def main(argv: list[str] | None = None) -> Path:
    from lab.evaluate import _bench_dataset

    if _bench_dataset(argv):  # LCIO-Bench: the app's policy, trained with the app's features
        from lab.bench_eval import train_main

        return train_main(argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET), help="M4A1.json or a .jsonl table of turns")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=["all", "train"], default="all",
                    help="all: every dialogue (the app's policy); train: the seed's 80%% split")
    ap.add_argument("--device", default="Jetson TX2")
    ap.add_argument("--network", default="Wired")
    ap.add_argument("--out", default=str(M4A1_POLICY_PATH))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    dialogues = load_dialogues(args.dataset)
    if args.split == "train":
        dialogues, _ = split_dialogues(dialogues, args.seed)
    cfg = LookaheadConfig(seed=args.seed, device=args.device, network=args.network)
    policy = train_planner(dialogues, cfg)
    argv = sys.argv[1:] if argv is None else argv
    command = "python -m lab.train " + " ".join(shlex.quote(a) for a in argv)
    out = Path(args.out)
    policy.save(out, command=command)
    print(json.dumps({"saved": str(out), "dialogues": len(dialogues)}, indent=1))
    return out


if __name__ == "__main__":
    main()
