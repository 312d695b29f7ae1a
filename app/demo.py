"""What a first visit is shown: example turns made from the project's own media, and a demo
budget under which playing them makes the budget bind.

Played in order, the examples show what LCIO is for: a long voice note sent to the cloud, a
short spoken question then answered here because the cloud dollars ran low, a picture left
out because the question does not need it, a picture with a spoken question, and a question
kept on this machine (the "Where" choice). The default budgets never bind in a demo.

Under `DEMO_LIMIT` the dollars bind: they follow tokens, not machine speed (a small waiting
budget drained 71 % on 2 busy cores, 16 % on quiet ones). Audio is billed by its length, which
the guard's worst case knows to a second, so the first example's 18.4 s note is billed
$0.0018 and the demo's dollars are that turn's worst case and no more ($0.0031); what is left
cannot pay even a 16-token answer to the next voice note ($0.0015), so the guard turns it
local and the panel says why. (A picture cannot drain them: its worst case holds up to 6,256
tokens of perception text, about 20x its bill.) Played in order, the five spent 64 % of the
dollars in each of three runs. The figures assume the stand-in's prices; with another cloud,
set the budgets by hand. Waiting time is generous (1800 s) so that only the dollars bind.
`tests/test_first_visit.py` checks the figures against the guard's own worst case. On a Space
(`SPACE_ID` set) the demo budget is the default unless `LCIO_DEMO_BUDGET=0`.
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
