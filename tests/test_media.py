"""Attachment conversion for the cloud: downscaled data-URI images, 16 kHz mono WAV audio."""

from __future__ import annotations

import base64
import io
import wave
from pathlib import Path

import pytest
from PIL import Image

from backends.errors import UnreadableAttachment
from backends.media import (
    audio_wav_b64,
    decode_data_uri,
    encode_image,
    image_data_uri,
    to_wav16k,
    wav_duration_s,
)
from tests.media import corrupt_file, sample_image, speech, truncated_copy


def encode_audio(source: Path, target: Path, codec: str) -> Path:
    """Re-encode a WAV with PyAV (mp3 through libmp3lame, ogg through vorbis/opus)."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        out = dst.add_stream(codec, rate=44100 if codec != "libopus" else 48000)
        out.layout = "stereo"  # a different layout too, so the conversion has work to do
        resampler = av.AudioResampler(format=out.format.name, layout="stereo", rate=out.rate)
        for frame in src.decode(audio=0):
            for converted in resampler.resample(frame):
                for packet in out.encode(converted):
                    dst.mux(packet)
        for packet in out.encode(None):
            dst.mux(packet)
    return target


@pytest.fixture(scope="module")
def spoken(media_dir: Path) -> Path:
    return speech("The quick brown fox jumps over the lazy dog", media_dir, "fox.wav")


def wav_info(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data)) as reader:
        return (reader.getframerate(), reader.getnchannels(), reader.getsampwidth(),
                reader.getnframes() / reader.getframerate())


def test_downscale_respects_max_side_and_keeps_aspect(media_dir: Path) -> None:
    path = sample_image("chelsea", media_dir)  # 451 x 300
    encoded = encode_image(path, 128)
    assert max(encoded.width, encoded.height) == 128
    assert encoded.width / encoded.height == pytest.approx(451 / 300, rel=0.02)
    with Image.open(io.BytesIO(encoded.data)) as image:
        assert image.size == (encoded.width, encoded.height)
    assert encoded.mime == "image/png"  # PNG sources stay lossless


def test_small_images_are_not_upscaled_and_jpeg_stays_jpeg(media_dir: Path) -> None:
    path = media_dir / "coffee.jpg"
    Image.open(sample_image("coffee", media_dir)).save(path, quality=85)
    encoded = encode_image(path, 4096)
    assert (encoded.width, encoded.height) == Image.open(path).size
    assert encoded.mime == "image/jpeg"


def test_data_uri_round_trips(media_dir: Path) -> None:
    path = sample_image("chelsea", media_dir)
    uri = image_data_uri(path, 64, sha256="abc")
    assert uri.startswith("data:image/png;base64,")
    data, mime = decode_data_uri(uri)
    assert mime == "image/png"
    assert max(Image.open(io.BytesIO(data)).size) == 64


def test_corrupt_and_truncated_images_are_unreadable(media_dir: Path) -> None:
    with pytest.raises(UnreadableAttachment, match="could not be read"):
        encode_image(corrupt_file(media_dir, "bad.png"), 256)
    source = sample_image("astronaut", media_dir)
    with pytest.raises(UnreadableAttachment):
        encode_image(truncated_copy(source, media_dir, "cut.png"), 256)


def test_16k_mono_wav_passes_through_unchanged(spoken: Path) -> None:
    assert to_wav16k(spoken) == spoken.read_bytes()


@pytest.mark.parametrize("codec,suffix", [("libmp3lame", ".mp3"), ("libopus", ".ogg"),
                                          ("flac", ".flac")])
def test_compressed_audio_becomes_16k_mono_wav(spoken: Path, media_dir: Path, codec: str,
                                               suffix: str) -> None:
    compressed = encode_audio(spoken, media_dir / f"fox-{codec}{suffix}", codec)
    rate, channels, width, seconds = wav_info(to_wav16k(compressed))
    assert (rate, channels, width) == (16000, 1, 2)
    assert seconds == pytest.approx(wav_info(spoken.read_bytes())[3], abs=0.15)


def test_audio_b64_is_the_wav(spoken: Path) -> None:
    data = base64.b64decode(audio_wav_b64(spoken, sha256="x"))
    assert wav_duration_s(data) == pytest.approx(wav_info(spoken.read_bytes())[3])


def test_corrupt_audio_is_unreadable(media_dir: Path) -> None:
    with pytest.raises(UnreadableAttachment):
        to_wav16k(corrupt_file(media_dir, "bad.mp3"))
    with pytest.raises(UnreadableAttachment):
        decode_data_uri("data:image/png;base64,@@not-base64@@")
    with pytest.raises(UnreadableAttachment, match="data: URIs"):
        decode_data_uri("https://example.com/cat.png")
