"""The quality-vs-cost figure as a small static SVG for the results page (plotly needs kaleido to
write images, which is not installed here): drawn from results.json by `bench_readme --write`.
Labels are policy and curve names only (ours), escaped all the same."""

from __future__ import annotations

from html import escape
from pathlib import Path

W, H, PAD = 760, 460, 60
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#843c39", "#000000", "#e7ba52", "#6b6ecf",
           "#ad494a"]


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def quality_vs_cost_svg(res: dict) -> str:
    """Curves (LCIO's dollar weight, the router's cloud share, the cascade's threshold), every
    policy at the nominal budgets, and the ≥ 95 % quality / ≤ 35 % dollars box."""
    curves = res["curves"]["mean"]
    points = {n: (m["usd"]["mean"], m["quality"]["mean"]) for n, m in res["policies"].items()}
    xs = [p["usd"] for pts in curves.values() for p in pts] + [x for x, _ in points.values()]
    ys = [p["quality"] for pts in curves.values() for p in pts] + [y for _, y in points.values()]
    fx = _scale(0.0, max(xs) * 1.05, PAD, W - 190)
    fy = _scale(min(ys) * 0.95, max(ys) * 1.03, H - PAD, 20)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" '
           f'font-size="11"><rect width="{W}" height="{H}" fill="white"/>']
    check = res["cheap_and_good"]["cloud_only"]
    x1, y0 = fx(0.35 * check["usd"]), fy(0.95 * check["quality"])
    out.append(f'<rect x="{PAD}" y="20" width="{x1 - PAD:.1f}" height="{max(y0 - 20, 0):.1f}" '
               f'fill="#2ca02c" fill-opacity="0.08" stroke="#2ca02c" stroke-dasharray="4"/>')
    out.append(f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 190}" y2="{H - PAD}" stroke="black"/>'
               f'<line x1="{PAD}" y1="{H - PAD}" x2="{PAD}" y2="20" stroke="black"/>')
    for i in range(6):
        vx = max(xs) * 1.05 * i / 5
        lo, hi = min(ys) * 0.95, max(ys) * 1.03
        vy = lo + (hi - lo) * i / 5
        out.append(f'<text x="{fx(vx):.1f}" y="{H - PAD + 15}" text-anchor="middle">{vx * 1e6:.0f}</text>'
                   f'<text x="{PAD - 6}" y="{fy(vy) + 4:.1f}" text-anchor="end">{vy:.2f}</text>')
    out.append(f'<text x="{(PAD + W - 190) / 2}" y="{H - 15}" text-anchor="middle">'
               'micro-dollars per dialogue (held-out, mean over seeds)</text>'
               f'<text x="15" y="{H / 2}" transform="rotate(-90 15 {H / 2})" text-anchor="middle">'
               'mean quality</text>')
    legend_y = 30
    for k, (name, pts) in enumerate(curves.items()):
        c = COLOURS[k % len(COLOURS)]
        path = " ".join(f"{fx(p['usd']):.1f},{fy(p['quality']):.1f}" for p in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        out += [f'<circle cx="{fx(p["usd"]):.1f}" cy="{fy(p["quality"]):.1f}" r="3" fill="{c}"/>'
                for p in pts]
        out.append(f'<line x1="{W - 180}" y1="{legend_y - 4}" x2="{W - 165}" y2="{legend_y - 4}" '
                   f'stroke="{c}" stroke-width="2"/><text x="{W - 160}" y="{legend_y}">{escape(name)}</text>')
        legend_y += 16
    for k, (name, (x, y)) in enumerate(points.items()):
        c = COLOURS[(k + len(curves)) % len(COLOURS)]
        out.append(f'<rect x="{fx(x) - 4:.1f}" y="{fy(y) - 4:.1f}" width="8" height="8" fill="{c}"/>'
                   f'<rect x="{W - 178}" y="{legend_y - 9}" width="8" height="8" fill="{c}"/>'
                   f'<text x="{W - 160}" y="{legend_y}">{escape(name)}</text>')
        legend_y += 16
    out.append(f'<text x="{PAD + 4}" y="32" fill="#2ca02c">'
               '≥ 95 % of cloud-only quality at ≤ 35 % of its $</text>')
    out.append("</svg>")
    return "\n".join(out)


def write_svg(res: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(quality_vs_cost_svg(res), encoding="utf-8")
    return path
