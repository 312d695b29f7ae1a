"""Audio cannot lie about its length: an M4A whose sample table, track and movie headers
claim it lasts a fraction of a second is measured by its decoded samples, so the guard prices
(and the limit refuses) the sound that would really be sent."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from app.guard import SpeedModel, budget_mask, worst_cases
from app.session import BudgetLedger, Cost
from backends import units
from backends.config import Settings
from backends.errors import UnreadableAttachment
from backends.media import MediaLimits, audio_duration_s, audio_wav_b64, wav_duration_s
from backends.types import Attachment
from policies.base import Action

SECONDS = 30.0
PRICE_PER_AUDIO_TOKEN = 1e-4  # 30 s of audio tokens costs well over the small budget below


def _sine_m4a(path: Path, seconds: float) -> Path:
    import av

    rate = 16_000
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16).reshape(1, -1)
    with av.open(str(path), "w", format="ipod") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        for start in range(0, samples.shape[1], rate):
            frame = av.AudioFrame.from_ndarray(samples[:, start:start + rate].copy(), format="s16",
                                               layout="mono")
            frame.rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _boxes(data: bytearray, start: int, end: int):
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
        if size == 0:
            size = end - i
        yield i, size, kind
        i += size


def _understate(data: bytes) -> bytes:
    """Every sample lasts 16 ticks instead of 1024, mvhd/mdhd say 1 tick, the edit list is hidden."""
    out = bytearray(data)

    def walk(start: int, end: int) -> None:
        for i, size, kind in _boxes(out, start, end):
            if kind == b"edts":
                out[i + 4:i + 8] = b"free"
            elif kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
                walk(i + 8, i + size)
            elif kind == b"stts":
                for k in range(struct.unpack(">I", out[i + 12:i + 16])[0]):
                    struct.pack_into(">I", out, i + 16 + 8 * k + 4, 16)
            elif kind in (b"mvhd", b"mdhd"):
                version = out[i + 8]
                offset = i + 8 + 4 + (16 if version else 8) + 4
                struct.pack_into(">Q" if version else ">I", out, offset, 1)

    walk(0, len(out))
    return bytes(out)


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tampered")
    honest = _sine_m4a(folder / "honest.m4a", SECONDS)
    evil = folder / "evil.m4a"
    evil.write_bytes(_understate(honest.read_bytes()))
    assert evil.read_bytes() != honest.read_bytes()
    return evil


def test_the_tampered_file_really_claims_less(tampered: Path) -> None:
    import av

    with av.open(str(tampered)) as container:
        stream = container.streams.audio[0]
        claimed = sum(p.duration or 0 for p in container.demux(stream)) * float(stream.time_base)
    assert claimed < SECONDS / 10, "the tampering must understate the length for this test to mean anything"


def test_measured_length_is_the_decoded_length(tampered: Path) -> None:
    measured = audio_duration_s(tampered)
    assert measured == pytest.approx(SECONDS, abs=0.5)
    sent = __import__("base64").b64decode(audio_wav_b64(tampered))
    assert wav_duration_s(sent) <= measured + 0.05


def test_the_limit_refuses_it_without_decoding_it_all(tampered: Path) -> None:
    with pytest.raises(UnreadableAttachment, match="longer than .*limit is 10.0 s"):
        Attachment.from_path(tampered, limits=MediaLimits(max_audio_s=10.0))


def test_the_guard_masks_the_cloud_on_a_small_budget(tampered: Path) -> None:
    attachment = Attachment.from_path(tampered, limits=MediaLimits(max_audio_s=60.0))
    assert attachment.duration_s == pytest.approx(SECONDS, abs=0.5)
    price = lambda prompt, new, audio, image: audio * PRICE_PER_AUDIO_TOKEN  # noqa: E731
    actions = [Action("local", ()), Action("cloud", (0,))]
    costs = worst_cases(actions, [attachment], [], "listen", [], Settings(), SpeedModel(), price)
    assert costs[1].usd >= units.audio_tokens_bound(SECONDS - 0.5) * PRICE_PER_AUDIO_TOKEN
    small = BudgetLedger(limit=Cost(usd=costs[1].usd * 0.9, latency_s=1e6, energy_j=1e9))
    ok, why = budget_mask(actions, costs, small)
    assert not ok[1] and why[1]
    # Sending reuses the WAV decoded at upload (cached by content hash), the same sound priced.
    sent = __import__("base64").b64decode(audio_wav_b64(attachment.path, attachment.sha256))
    assert wav_duration_s(sent) == pytest.approx(attachment.duration_s, abs=0.05)


def test_pillow_parses_only_the_accepted_formats(tmp_path: Path) -> None:
    """An EPS (Ghostscript) or other Pillow-readable type renamed .png is refused, not parsed."""
    from PIL import Image

    from backends.media import encode_image, inspect

    disguised = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), "red").save(disguised, format="PCX")  # Pillow reads PCX; we do not
    with pytest.raises(UnreadableAttachment, match="could not be read"):
        inspect(disguised, "image", MediaLimits())
    with pytest.raises(UnreadableAttachment):
        encode_image(disguised, 64)
    honest = tmp_path / "photo.jpg"
    Image.new("RGB", (8, 8), "red").save(honest, format="JPEG")
    assert inspect(honest, "image", MediaLimits()).width == 8
