"""The learning-curve figure as a small static SVG (plotly needs kaleido to write images, which
is not installed here): reward against the share of the training split, one line per policy
(mean over seeds), every seed's value as a dot, and the issue's 25 % targets as dashed lines."""

from __future__ import annotations

from html import escape

W, H, PAD, RIGHT = 680, 420, 60, 200
COLOURS = {"lcio": "#1f77b4", "ppo": "#d62728"}


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def curves_svg(summary: dict) -> str:
    """`summary` is `lab.curves.summarise`'s: {policy: {fraction: {"mean", "per_seed"}}}."""
    ys = [float(v) for by in summary.values() for c in by.values()
          for vals in c["per_seed"].values() for v in vals]
    lcio_full = summary.get("lcio", {}).get(1.0, {}).get("mean")
    ppo_full = summary.get("ppo", {}).get(1.0, {}).get("mean")
    guides = []
    if lcio_full is not None:
        guides.append((0.95 * lcio_full, "0.95 × LCIO, all data"))
    if ppo_full is not None:
        guides.append((1.10 * ppo_full, "1.10 × PPO, all data"))
    ys += [g for g, _ in guides]
    lo, hi = (min(ys) - 0.03, max(ys) + 0.03) if ys else (0.0, 1.0)
    fx = _scale(0.0, 1.0, PAD, W - RIGHT)
    fy = _scale(lo, hi, H - PAD, 20)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" '
           f'font-size="11"><rect width="{W}" height="{H}" fill="white"/>',
           f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - RIGHT}" y2="{H - PAD}" stroke="black"/>',
           f'<line x1="{PAD}" y1="{H - PAD}" x2="{PAD}" y2="20" stroke="black"/>']
    for f in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<text x="{fx(f):.1f}" y="{H - PAD + 16}" text-anchor="middle">{f:.0%}</text>')
    for i in range(6):
        v = lo + (hi - lo) * i / 5
        out.append(f'<text x="{PAD - 6}" y="{fy(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    out.append(f'<text x="{(PAD + W - RIGHT) / 2:.0f}" y="{H - 14}" text-anchor="middle">'
               'share of the training split fitted on</text>')
    out.append(f'<text x="16" y="{(H - PAD) / 2:.0f}" transform="rotate(-90 16 {(H - PAD) / 2:.0f})" '
               'text-anchor="middle">reward on the held-out 20 % (paper protocol)</text>')
    last_label = -1e9
    for g, label in sorted(guides, reverse=True):  # top first; a close label moves down a line
        y = f"{fy(g):.1f}"
        label_y = max(fy(g) + 4, last_label + 13)
        last_label = label_y
        out.append(f'<line x1="{PAD}" y1="{y}" x2="{W - RIGHT}" y2="{y}" stroke="#555" stroke-dasharray="5"/>'
                   f'<text x="{W - RIGHT + 6}" y="{label_y:.1f}">{escape(label)}</text>')
    for k, (name, by_f) in enumerate(summary.items()):
        colour = COLOURS.get(name, "#2ca02c")
        fs = sorted(by_f)
        pts = " ".join(f"{fx(f):.1f},{fy(by_f[f]['mean']):.1f}" for f in fs)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for f in fs:
            for vals in by_f[f]["per_seed"].values():
                for v in vals:
                    out.append(f'<circle cx="{fx(f):.1f}" cy="{fy(v):.1f}" r="2.5" fill="{colour}" '
                               'fill-opacity="0.45"/>')
        out.append(f'<line x1="{W - RIGHT + 6}" y1="{30 + 18 * k}" x2="{W - RIGHT + 26}" y2="{30 + 18 * k}" '
                   f'stroke="{colour}" stroke-width="2"/><text x="{W - RIGHT + 32}" y="{34 + 18 * k}">'
                   f'{escape(name)} (mean of seeds)</text>')
    out.append("</svg>")
    return "\n".join(out)
