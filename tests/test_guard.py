"""The budget promise, as properties: whatever is attached, no turn makes a budget negative.

- the guard's image tokens bound what the cloud really sends (Pillow's downscaling);
- its audio tokens bound what the stand-in bills for the decoded file;
- random dialogues through the real engine, guard and ledger, each answer costing anything
  from a fraction of its prediction to 3x its worst case (stopped at the engine's deadline,
  its dollars bounded by the tokens the guard lets it send; some cloud calls breaking
  midway), never overspend.
`python -m app.tools.guard_sim` runs the last one 10,000 times.
"""

from __future__ import annotations

import random
import wave
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.guard import PERCEPTION_S_PER_AUDIO_S, SpeedModel, image_tokens, worst_case
from app.session import Cost
from app.tools.guard_sim import simulate
from backends import units
from backends.config import Settings
from backends.media import MediaLimits, audio_duration_s, encode_image, inspect, to_wav16k, wav_duration_s
from backends.server import usage_of
from backends.types import Attachment, Completion
from policies.base import Action

pytestmark = pytest.mark.fault
SLOW_OK = settings(max_examples=25, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW_OK
@given(width=st.integers(1, 5000), height=st.integers(1, 5000))
def test_image_tokens_bound_the_image_the_cloud_sends(tmp_path: Path, width: int, height: int) -> None:
    from PIL import Image

    path = tmp_path / "im.png"
    Image.new("RGB", (width, height), "white").save(path)
    sent = encode_image(path, Settings().max_image_side)
    info = inspect(path, "image", MediaLimits())
    attachment = Attachment("image", path, "0" * 64, "image/png", info.width, info.height)
    assert image_tokens(attachment, Settings()) >= units.image_tokens(sent.width, sent.height)


@SLOW_OK
@given(seconds=st.floats(0.05, 20), rate=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
       channels=st.integers(1, 2), fmt=st.sampled_from(["wav", "flac", "mp3", "m4a"]))
def test_audio_tokens_bound_what_the_standin_bills(tmp_path: Path, seconds: float, rate: int,
                                                   channels: int, fmt: str) -> None:
    path = _audio(tmp_path, seconds, rate, channels, fmt)
    measured = audio_duration_s(path)
    billed = usage_of(Completion("", "x", "x", 0, 0, 0, 0), 0, wav_duration_s(to_wav16k(path)))
    assert units.audio_tokens_bound(measured) >= billed["prompt_tokens_details"]["audio_tokens"]


def _audio(folder: Path, seconds: float, rate: int, channels: int, fmt: str) -> Path:
    """Noise of `seconds` in the given format (WAV by `wave`, the rest encoded by PyAV)."""
    import av
    import numpy as np

    samples = (np.random.default_rng(0).uniform(-0.3, 0.3, (channels, int(seconds * rate)))
               * 32767).astype(np.int16)
    path = folder / f"a.{fmt}"
    if fmt == "wav":
        with wave.open(str(path), "wb") as writer:
            writer.setnchannels(channels)
            writer.setsampwidth(2)
            writer.setframerate(rate)
            writer.writeframes(samples.T.tobytes())
        return path
    codec = {"flac": "flac", "mp3": "libmp3lame", "m4a": "aac"}[fmt]
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(samples.T.reshape(1, -1), format="s16", layout=layout)
        frame.rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_long_audio_and_big_images_raise_the_worst_case() -> None:
    config = Settings()
    speed = SpeedModel()
    price = lambda prompt, new, audio, image: prompt * 1e-6 + audio * 1e-5  # noqa: E731

    def cost(attachment: Attachment, where: str) -> Cost:
        return worst_case(Action(where, (0,)), [attachment], [], "q", [], config, speed, price)

    short = Attachment("audio", Path("a.wav"), "0" * 64, "audio/wav", duration_s=10)
    long = Attachment("audio", Path("b.wav"), "1" * 64, "audio/wav", duration_s=600)
    assert cost(long, "cloud").usd - cost(short, "cloud").usd == pytest.approx(
        590 * units.AUDIO_TOKENS_PER_S * (1e-5 + 1e-6), rel=0.01)  # audio counts in the prompt too
    assert cost(long, "local").latency_s - cost(short, "local").latency_s == pytest.approx(
        590 * PERCEPTION_S_PER_AUDIO_S)
    small = Attachment("image", Path("s.png"), "2" * 64, "image/png", width=100, height=100)
    big = Attachment("image", Path("l.png"), "3" * 64, "image/png", width=6000, height=6000)
    assert cost(big, "cloud").usd > cost(small, "cloud").usd
    assert cost(big, "local").latency_s > cost(small, "local").latency_s
    unmeasured = Attachment("audio", Path("c.wav"), "4" * 64, "audio/wav")
    assert cost(unmeasured, "cloud").usd >= cost(long, "cloud").usd, "unknown length: the cap"


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_dialogues_never_overspend(seed: int) -> None:
    counts = simulate(dialogues=20, seed=seed)
    assert counts["overspends"] == 0
    assert counts["turns"] > 0


def test_the_simulation_reaches_the_limits_it_guards() -> None:
    """Not vacuous: dialogues answer turns on both paths and run budgets close to empty."""
    counts = simulate(dialogues=200, seed=random.Random(7).randint(0, 10**6))
    assert counts["overspends"] == 0
    assert counts["cloud"] > 0 and counts["local"] > 0 and counts["fallbacks"] > 0
    assert counts["refused (budget)"] > 0
    assert counts["dialogues ending with a budget under 10% left"] > 0
    assert counts["stopped at a deadline"] > 0, "answers ran past the worst case and were stopped"
