"""Render LCIO-Bench's README tables from an evaluation's results.json, so that the figures in
policies/README.md are always the ones a run wrote (never typed by hand).

    python -m lab.bench_readme runs/eval-bench/results.json            # print the tables
    python -m lab.bench_readme runs/eval-bench/results.json --write    # update the README

With --write the text between the two markers below in policies/README.md is replaced and the
quality-vs-cost figure is drawn to policies/figures/bench-quality-vs-cost.svg.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

BEGIN, END = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"
README = Path(__file__).resolve().parent / "README.md"
FIGURE = Path(__file__).resolve().parent / "figures" / "bench-quality-vs-cost.svg"
COLUMNS = ["reward", "quality", "usd", "latency_s", "energy_j", "over_budget_share", "refused_share",
           "cloud_share", "oracle_share", "decide_ms_p50", "decide_ms_p99"]


def _cell(v: dict | None, fmt: str = ".4g") -> str:
    return "—" if v is None else f"{v['mean']:{fmt}} ± {v['std']:.2g}"


def main_table(res: dict) -> str:
    """Every policy at the nominal budgets: mean ± std over seeds."""
    rows = ["| policy | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, m in res["policies"].items():
        rows.append(f"| {name} | " + " | ".join(_cell(m.get(c)) for c in COLUMNS) + " |")
    return "\n".join(rows)


def per_seed_table(res: dict) -> str:
    """Reward per seed at the nominal budgets (and LCIO's share of the oracle per seed)."""
    n = res["config"]["seeds"]
    rows = ["| policy | " + " | ".join(f"seed {s}" for s in range(n)) + " | mean |",
            "|---" * (n + 2) + "|"]
    for name, m in res["policies"].items():
        r = m["reward"]
        rows.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in r["per_seed"]) + f" | {r['mean']:.3f} |")
    return "\n".join(rows)


def sweep_table(res: dict) -> str:
    """Reward, over-budget share and refused share per budget scale (* = never trained on)."""
    scales = [str(s) for s in res["config"]["sweep_scales"]]
    lo, hi = res["config"]["rcrl_training_scale_range"]
    head = [f"×{s}{'' if lo <= float(s) <= hi else '*'}" for s in scales]
    rows = ["| policy | metric | " + " | ".join(head) + " |", "|---" * (len(scales) + 2) + "|"]
    for name, by in res["sweep"].items():
        for metric in ("reward", "over_budget_share", "refused_share"):
            vals = " | ".join(f"{by[s][metric]['mean']:.3f}" for s in scales)
            rows.append(f"| {name if metric == 'reward' else ''} | {metric} | {vals} |")
    return "\n".join(rows) + "\n\n\\* budget scale never seen while training LCIO's multipliers"


def curves_table(res: dict) -> str:
    """The quality-vs-cost curves (means over seeds) with each point's share of cloud-only."""
    check = res["cheap_and_good"]
    rows = ["| curve | knob | quality | $ per dialogue | reward | cloud share | "
            "quality / cloud-only | $ / cloud-only | ≥95 % at ≤35 % |", "|---" * 9 + "|"]
    for name, pts in res["curves"]["mean"].items():
        for p, c in zip(pts, check["curves"][name], strict=True):
            rows.append(f"| {name} | {p['knob']:g} | {p['quality']:.3f} | {p['usd']:.3g} | {p['reward']:.3f} "
                        f"| {p['cloud_share']:.2f} | {c['quality_share']:.2f} | {c['dollar_share']:.2f} "
                        f"| {'yes' if c['met'] else 'no'} |")
    return "\n".join(rows)


def targets_list(res: dict) -> str:
    t = res["targets"]
    lines = [f"- LCIO reward {t['lcio_reward']:.3f}; best baseline {t['best_baseline']} "
             f"{t['best_baseline_reward']:.3f} (LCIO {t['lcio_vs_best_baseline']:.3f}×); "
             f"share of the oracle {t['lcio_oracle_share']:.3f} (per seed "
             + ", ".join(f"{v:.3f}" for v in t["lcio_oracle_share_per_seed"]) + ")",
             f"- LCIO refused share at 0.5× budgets: {t['lcio_refused_share_at_0.5']:.3f}",
             f"- LCIO decision p99: {t['lcio_decide_ms_p99']:.3f} ms wall clock, "
             f"{t['lcio_decide_cpu_ms_p99']:.3f} ms CPU; with classifier and observation "
             f"{t['lcio_observe_and_decide_ms_p99']:.3f} ms wall, "
             f"{t['lcio_observe_and_decide_cpu_ms_p99']:.3f} ms CPU"]
    lines += [f"- {name}: {'met' if ok else 'NOT met'}" for name, ok in t["met"].items()]
    cheap = {n: v for n, v in res["cheap_and_good"]["policies"].items() if not n.startswith("oracle")}
    lines.append("- ≥ 95 % of cloud-only quality at ≤ 35 % of its dollars at the nominal budgets "
                 "(the oracle aside): " + (", ".join(n for n, v in cheap.items() if v["met"]) or "none")
                 + "; on the curves: " + (", ".join(
                     f"{n} at {p['knob']:g}" for n, pts in res["cheap_and_good"]["curves"].items()
                     for p in pts if p["met"]) or "no point"))
    return "\n".join(lines)


def render(res: dict, command: str) -> str:
    c = res["config"]
    b = c["budgets"]
    return "\n\n".join([
        f"Rendered from results.json by `python -m lab.bench_readme` (run: `{command}`; "
        f"{c['dialogues']} dialogues / {c['turns']} turns, {c['seeds']} seeds, budgets {b['latency_s']:g} s, "
        f"${b['usd']:g}, {b['energy_j']:g} J per dialogue; figure: `{res.get('figure', '')}` beside it).",
        "Every policy at the nominal budgets (mean ± std over seeds):", main_table(res),
        "Reward per seed:", per_seed_table(res),
        "Budget sweep (means over seeds):", sweep_table(res),
        "Quality vs cost at the nominal budgets (LCIO's dollar weight, the router's target cloud "
        "share, the cascade's weakness threshold):",
        "![quality vs cost](figures/bench-quality-vs-cost.svg)", curves_table(res),
        "Targets:", targets_list(res)])


def write(readme: Path, text: str) -> None:
    doc = readme.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{readme} has no {BEGIN} … {END} section")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path)
    ap.add_argument("--write", action="store_true", help="replace the section in the README")
    ap.add_argument("--readme", type=Path, default=README)
    args = ap.parse_args(argv)
    res = json.loads(args.results.read_text(encoding="utf-8"))
    c = res["config"]
    command = (f"python -m lab.evaluate --dataset {c['dataset']} --seeds {c['seeds']} "
               f"--out {args.results.parent}")
    text = render(res, command)
    if args.write:
        from lab.bench_svg import write_svg

        write(args.readme, text)
        write_svg(res, args.readme.parent / "figures" / FIGURE.name)
    else:
        print(text)
    return text


if __name__ == "__main__":
    main()
