"""What a first visit is shown: example turns made from the project's own media, and a demo
budget under which playing them makes the budget bind.

The examples, played in order, show what LCIO is for: a long voice note the policy sends to
the cloud, a short spoken question it then answers here because the cloud dollars ran low, a
picture it leaves out because the question does not need it, a picture with a spoken
question, and a question you keep on this machine (the "Where" choice). The default budgets
($0.05, 300 s, 3000 J) never bind in a demo (a 12-turn session spent 3 % of the dollars).

The budget that binds under `DEMO_LIMIT` is the dollars, the one budget that drains the same
on every machine: it follows tokens, not speed (a small waiting budget drained 71 % on 2 busy
cores and 16 % on quiet ones). Only a bill the guard can bound tightly drains it: audio, billed
by its length (the stand-in's price row: $10 per 1M audio tokens, 10 a second), which the
guard's worst case takes at its measured length plus a second. A picture or a short note
cannot: its worst case holds up to 6,256 tokens of perception text the cloud may add, about
20x what it is billed. So the first example is an 18.4 s voice note, billed $0.0018, and the
demo's dollars are its worst case and no more ($0.0029 at a 16-token answer, $0.0031 at the
default 256). What its bill leaves (at most $0.0013) is below the worst case of even a
16-token answer to the second example's voice note ($0.0015), so the guard rules the cloud
out there and the panel says "Local, because the budget guard ruled out the cloud (Cloud
dollars: needs up to …, … left)"; a text-only turn or a lone picture may still fit. The
first example's audio bill alone is 59 % of the dollars; played in order, the five spent 64 %
of them in each of three runs (48-token answers).
`tests/test_first_visit.py` checks these figures against the guard's own worst case,
`tests/test_first_visit_browser.py` that playing the examples spends at least half. They
assume the stand-in's prices (`assets/prices.json`, "lcio-standin"): with another cloud, set
the budgets by hand. Waiting time is generous (1800 s) so that only the dollars bind: on 2
cores shared with other jobs the first answer alone waited 260 s, after which 900 s made the
guard's pacing (waiting kept for later turns) turn the haiku local, and 600 s stopped the last
answer. On a Space (`SPACE_ID` set) the demo budget is the default unless
`LCIO_DEMO_BUDGET=0`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr

from app.session import DEFAULT_LIMIT, Cost

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
DEMO_LIMIT = Cost(usd=0.0031, latency_s=1800.0, energy_j=3000.0)
DEMO_NOTE = ("Demo budget: $0.0031 of cloud, enough for the first example's voice note and no "
             "more, so the examples make the budget decide; 1800 s of waiting, 3000 J of local energy.")
# (text, files under assets/examples, where): played in this order.
EXAMPLES: list[tuple[str, list[str], str]] = [
    ("", ["voice-picnic.ogg"], "auto"),
    ("", ["voice-question.wav"], "auto"),
    ("Write a haiku about Monday mornings.", ["coffee.jpg"], "auto"),
    ("", ["voice-describe.wav", "cat.jpg"], "auto"),
    ("What is 2 plus 2? (kept on this machine)", [], "local"),
]


def demo_default() -> bool:
    """Whether a new session starts with the demo budget: on a Space unless LCIO_DEMO_BUDGET
    says otherwise; elsewhere only when LCIO_DEMO_BUDGET=1."""
    asked = os.environ.get("LCIO_DEMO_BUDGET", "").strip().lower()
    if asked in ("0", "false", "no", "off"):
        return False
    return asked in ("1", "true", "yes", "on") or bool(os.environ.get("SPACE_ID"))


def start_limit() -> Cost:
    """The budgets a new session (and the settings' numbers) start with."""
    return DEMO_LIMIT if demo_default() else DEFAULT_LIMIT


def example_rows() -> list[list[Any]]:
    """Gradio's example rows for (the multimodal box, the "Where" radio)."""
    return [[{"text": text, "files": [str(EXAMPLES_DIR / f) for f in files]}, where]
            for text, files, where in EXAMPLES]


def add_examples(box: gr.MultimodalTextbox, where: gr.Radio) -> gr.Examples:
    """The examples under the box: a click fills the box (and "Where"); Enter sends it."""
    return gr.Examples(example_rows(), [box, where], label="Try these in order (click one, then "
                       "press Enter): voice notes, pictures, a turn kept on this machine",
                       elem_id="examples", examples_per_page=len(EXAMPLES), cache_examples=False)
