"""What a first visit is shown: example turns made from the project's own media, and a demo
budget under which playing them makes the budgets bind.

The examples, played in order, show what LCIO is for: a picture the policy sends to the cloud
(or, under the demo budget, answers here), a picture it leaves out because the question does
not need it, voice notes, and a question you keep on this machine (the "Where" choice). The
default budgets ($0.05, 300 s, 3000 J) never bind in a demo (a 12-turn session spent 3 % of
the dollars); under `DEMO_LIMIT` the budget guard rules the cloud out for pictures and sound
from the first turn (their worst case does not fit $0.0008) and the waiting time drains (past
half on 2 busy cores, about a sixth on quiet ones), so the panels say which budget shaped each
decision. On a Space
(`SPACE_ID` set) the demo budget is the default unless `LCIO_DEMO_BUDGET=0`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr

from app.session import DEFAULT_LIMIT, Cost

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
DEMO_LIMIT = Cost(usd=0.0008, latency_s=120.0, energy_j=3000.0)
DEMO_NOTE = ("Demo budget: $0.0008 of cloud, 120 s of waiting, 3000 J of local energy, small "
             "enough that the examples make the budget decide.")
# (text, files under assets/examples, where): played in this order.
EXAMPLES: list[tuple[str, list[str], str]] = [
    ("What animal is in this picture?", ["cat.jpg"], "auto"),
    ("Write a haiku about Monday mornings.", ["coffee.jpg"], "auto"),
    ("", ["voice-question.wav"], "auto"),
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
                       "press Enter): pictures, a voice note, a turn kept on this machine",
                       elem_id="examples", examples_per_page=len(EXAMPLES), cache_examples=False)
