"""How far the decision card's expectations are from what turns really cost, on a running app.

Drives sessions, one per policy, mixing text, image and audio turns, and prints the median
|expected − actual| / actual for latency and for dollars (cloud turns only), and how often
the actual fell inside the 80 % interval. In a real browser (chromium through Playwright,
`app.tools.predict_browser`; figures read from the app's SQLite log, the `LCIO_LOG_PATH` it was
started with):

    python -m app.tools.predict_check --url http://127.0.0.1:7861 --turns 20 --browser --log LOG

or, without `--browser`, through the page's `/chat` API (gradio_client).

The first turns of a fresh app are predicted from what it measured at start-up
(`app.predict_seed`); the medians over turns 6 and up say how it does once it has learnt
from its own turns.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

# Every turn is new (no prompt, picture or recording comes twice), so a similar past turn
# cannot simply be looked up.
QUESTIONS = [
    "What is the capital of France?", "Give me three tips for sleeping better.",
    "Explain what a prime number is.", "Write a haiku about the sea.",
    "How do I boil an egg?", "Summarise the plot of Romeo and Juliet in two sentences.",
    "What is photosynthesis?", "Translate 'good morning' into Spanish and German.",
    "Why is the sky blue?", "Name five fruits that are rich in vitamin C.",
    "What does a compiler do?", "Suggest a name for a small bakery.",
    "How far is the Moon from the Earth?", "List the planets of the solar system.",
    "What is the difference between weather and climate?", "How do vaccines work?",
    "Give me a simple recipe for pancakes.", "Who wrote Pride and Prejudice?",
    "What are the rules of chess for the knight?", "Describe a good morning routine.",
]
IMAGE_PROMPTS = ["What is in this picture?", "Describe the image briefly.", "What colours do you see?",
                 "Is there any text in this image?", "What is the main object here?",
                 "Where might this photo have been taken?", "Describe the mood of this picture.",
                 "How many objects can you count?", "What stands out in this image?",
                 "Give this picture a title."]
SPOKEN = ["What is the weather usually like in spring?", "Tell me a fun fact about cats.",
          "How many legs does a spider have?", "What is the tallest mountain in the world?",
          "Can you recommend a good book?", "How do I make a cup of tea?",
          "What time zone is London in?", "Why do leaves change colour in autumn?",
          "What is two plus two?", "Tell me a short joke."]
BUDGETS = (1.0, 5000.0, 200000.0)  # $, s, J: large, so that no turn is steered by the budget
SAMPLES = ("coffee", "astronaut", "chelsea", "rocket", "camera", "coins", "page",
           "immunohistochemistry", "hubble_deep_field")


def make_media(folder: Path) -> tuple[list[Path], list[Path]]:
    """Images (the study's cat and scikit-image samples) and spoken questions (espeak-ng)."""
    from PIL import Image

    images = [Path(__file__).resolve().parents[1] / "assets" / "study" / "cat.jpg"]
    try:
        from skimage import data

        for name in SAMPLES:
            path = folder / f"{name}.png"
            try:
                Image.fromarray(getattr(data, name)()).save(path)
            except Exception:  # a sample this scikit-image does not ship offline
                continue
            images.append(path)
    except ImportError:
        pass
    audio: list[Path] = []
    if shutil.which("espeak-ng") and shutil.which("sox"):
        for i, text in enumerate(SPOKEN):
            raw, path = folder / f"raw{i}.wav", folder / f"q{i}.wav"
            subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
            subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)],
                           check=True, capture_output=True)
            audio.append(path)
    return [p for p in images if p.exists()], audio


def turn_plan(turns: int, images: list[Path], audio: list[Path], start: int = 0
              ) -> list[tuple[str, list[Path]]]:
    """Text, image and audio turns in a fixed rotation (text twice as often); `start` counts
    the turns of earlier sessions, so each session gets new questions and files."""
    plan: list[tuple[str, list[Path]]] = []
    for i in range(start, start + turns):
        kind = ("text", "image", "text", "audio")[i % 4]
        if kind == "image" and images:
            n = i // 4
            plan.append((IMAGE_PROMPTS[n % len(IMAGE_PROMPTS)], [images[n % len(images)]]))
        elif kind == "audio" and audio:
            plan.append(("", [audio[(i // 4) % len(audio)]]))
        else:
            plan.append((QUESTIONS[(i // 4 * 2 + (i % 4 == 2)) % len(QUESTIONS)], []))
    return plan


def run_session(url: str, policy: str, plan: list[tuple[str, list[Path]]]) -> list[dict[str, Any]]:
    """One session with `policy`; the decision data of every turn."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    client.predict(*BUDGETS, 1.0, 1 / 3, 1 / 3, policy, api_name="/new_session")
    rows = []
    for i, (text, files) in enumerate(plan):
        _, decision = client.predict({"text": text, "files": [handle_file(str(f)) for f in files]},
                                     api_name="/chat")
        kind = files[0].suffix if files else "text"
        rows.append({**(decision or {}), "turn": i + 1, "kind": kind})
        print_turn(policy, rows[-1])
    return rows


def print_turn(policy: str, row: dict[str, Any]) -> None:
    """One turn, printed as it ends."""
    exp, act = row.get("expected") or {}, row.get("actual") or {}
    print(f"  {policy} turn {row['turn']:2d} {row['kind']:5s} {row.get('location')!s:5s} "
          f"{row.get('status')}: expected {exp.get('latency_s') or 0:.2f} s "
          f"${exp.get('cost_usd') or 0:.6f}  actual {act.get('latency_s') or 0:.2f} s "
          f"${act.get('cost_usd') or 0:.6f}", flush=True)


def errors(rows: list[dict[str, Any]], first_turn: int = 1) -> dict[str, float | int]:
    """Median relative errors and interval coverage over answered turns from `first_turn`."""
    done = [r for r in rows if r.get("status") == "answered" and r.get("expected") and r.get("actual")
            and r["turn"] >= first_turn]
    lat, usd, lat_in, usd_in = [], [], [], []
    for r in done:
        exp, act, band = r["expected"], r["actual"], r["expected"].get("range") or {}
        lat.append(abs(exp["latency_s"] - act["latency_s"]) / act["latency_s"])
        lo, hi = band.get("latency_s", (float("nan"),) * 2)
        lat_in.append(lo <= act["latency_s"] <= hi)
        if r.get("location") == "cloud" and act["cost_usd"] > 0:
            usd.append(abs(exp["cost_usd"] - act["cost_usd"]) / act["cost_usd"])
            lo, hi = band.get("cost_usd", (float("nan"),) * 2)
            usd_in.append(lo <= act["cost_usd"] <= hi)

    def med(xs: list[float]) -> float:
        return statistics.median(xs) if xs else float("nan")

    def share(xs: list[bool]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    return {"turns": len(done), "cloud_turns": len(usd), "latency_median_rel_error": med(lat),
            "usd_median_rel_error": med(usd), "latency_coverage": share(lat_in),
            "usd_coverage": share(usd_in)}


def report(name: str, rows: list[dict[str, Any]]) -> None:
    for label, first in (("all turns", 1), ("turns 6+", 6)):
        e = errors(rows, first)
        print(f"{name:>12s} {label:9s}: n={e['turns']:2d} (cloud {e['cloud_turns']:2d})  "
              f"latency median |err|/actual {e['latency_median_rel_error']:.1%}  "
              f"dollars {e['usd_median_rel_error']:.1%}  80 % interval held latency "
              f"{e['latency_coverage']:.0%}, dollars {e['usd_coverage']:.0%}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--policies", default="cloud-only,lcio-lookahead")
    parser.add_argument("--browser", action="store_true",
                        help="drive the chat page in chromium (Playwright) instead of /chat")
    parser.add_argument("--log", type=Path, help="the app's SQLite session log (with --browser)")
    args = parser.parse_args(argv)
    if args.browser and not (args.log and args.log.is_file()):
        parser.error("--browser reads each turn from the app's log: pass --log PATH (LCIO_LOG_PATH)")
    with tempfile.TemporaryDirectory() as tmp:
        images, audio = make_media(Path(tmp))
        every: list[dict[str, Any]] = []
        results = {}
        for n, policy in enumerate(args.policies.split(",")):
            plan = turn_plan(args.turns, images, audio, start=n * args.turns)
            if args.browser:
                from app.tools.predict_browser import run_browser_session

                results[policy] = run_browser_session(args.url, policy, plan, args.log, BUDGETS,
                                                      on_turn=print_turn)
            else:
                results[policy] = run_session(args.url, policy, plan)
            every += results[policy]
    print()
    for policy, rows in results.items():
        report(policy, rows)
    report("all", every)


if __name__ == "__main__":
    main()
