"""Perception on real pictures and real synthetic speech, with the real models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends import perception
from backends.errors import UnreadableAttachment
from backends.perception import (
    ImageDescription,
    PerceptionCache,
    attachment_to_text,
    attachments_to_text,
    describe_image,
    transcribe,
)
from backends.types import Attachment
from tests.media import corrupt_file, normalise, sample_image, speech, text_image, truncated_copy

CAT_LABELS = {"Egyptian cat", "tabby", "tiger cat", "Persian cat", "Siamese cat", "lynx"}
SENTENCE = "What is the capital of France?"

pytestmark = pytest.mark.slow


@pytest.fixture
def cache(tmp_path: Path) -> PerceptionCache:
    return PerceptionCache(tmp_path / "perception")


def test_class_names_are_the_1000_imagenet_classes() -> None:
    rows = json.loads(perception.CLASSES_FILE.read_text())["classes"]
    assert len(rows) == 1000
    assert rows[0]["wnid"] == "n01440764" and rows[0]["name"] == "tench"
    assert rows[285]["name"] == "Egyptian cat" and rows[967]["name"] == "espresso"


def test_cat_photo_gets_a_cat_label(media_dir: Path, cache: PerceptionCache) -> None:
    description = describe_image(Attachment.from_path(sample_image("chelsea", media_dir)), cache)
    top_name, top_prob = description.labels[0]
    assert top_name in CAT_LABELS and top_prob > 0.3
    assert all(0 < p <= 1 for _, p in description.labels)
    assert description.to_text().startswith("[Image: labels: ")


def test_coffee_photo_is_espresso(media_dir: Path, cache: PerceptionCache) -> None:
    description = describe_image(Attachment.from_path(sample_image("coffee", media_dir)), cache)
    assert description.labels[0][0] == "espresso"


def test_ocr_reads_drawn_words(media_dir: Path, cache: PerceptionCache) -> None:
    path = text_image("Budget meeting at noon", media_dir)
    description = describe_image(Attachment.from_path(path), cache)
    assert {"budget", "meeting", "noon"} <= set(normalise(description.text).split())
    assert "text in image: '" in description.to_text()


def test_ocr_reads_a_scanned_page(media_dir: Path, cache: PerceptionCache) -> None:
    description = describe_image(Attachment.from_path(sample_image("page", media_dir)), cache)
    words = set(normalise(description.text).split())
    assert {"markers", "coins", "background"} <= words


def test_speech_is_transcribed(media_dir: Path, cache: PerceptionCache) -> None:
    audio = Attachment.from_path(speech(SENTENCE, media_dir, "france.wav"))
    transcript = transcribe(audio, cache)
    assert normalise(transcript) == normalise(SENTENCE)
    assert attachment_to_text(audio, cache) == f"[Audio transcript: {transcript}]"


def test_corrupt_image_is_unreadable(tmp_path: Path, cache: PerceptionCache) -> None:
    bad = Attachment.from_path(corrupt_file(tmp_path, "photo.png"))
    with pytest.raises(UnreadableAttachment, match="photo.png.*could not be read"):
        describe_image(bad, cache)


def test_truncated_image_is_unreadable(
    media_dir: Path, tmp_path: Path, cache: PerceptionCache
) -> None:
    cut = truncated_copy(sample_image("chelsea", media_dir), tmp_path, "cut.png")
    with pytest.raises(UnreadableAttachment):
        describe_image(Attachment.from_path(cut), cache)


def test_corrupt_audio_is_unreadable(tmp_path: Path, cache: PerceptionCache) -> None:
    bad = Attachment.from_path(corrupt_file(tmp_path, "voice.wav"))
    with pytest.raises(UnreadableAttachment, match="voice.wav"):
        transcribe(bad, cache)
    assert not list(cache.directory.glob("*.json"))  # failures are not cached


def test_cache_hit_does_not_recompute(media_dir: Path, tmp_path: Path) -> None:
    image = Attachment.from_path(sample_image("coffee", media_dir))
    audio = Attachment.from_path(speech("Good morning", media_dir, "morning.wav"))
    cache = PerceptionCache(tmp_path / "p")
    first = (describe_image(image, cache), transcribe(audio, cache))
    counts = perception.computed.copy()

    assert (describe_image(image, cache), transcribe(audio, cache)) == first  # memory
    fresh = PerceptionCache(tmp_path / "p")  # a new process: only the disk is left
    assert (describe_image(image, fresh), transcribe(audio, fresh)) == first
    assert perception.computed == counts
    assert (tmp_path / "p" / f"{image.sha256}.image.json").is_file()
    assert (tmp_path / "p" / f"{audio.sha256}.audio.json").is_file()


def test_broken_cache_file_is_recomputed(media_dir: Path, tmp_path: Path) -> None:
    image = Attachment.from_path(sample_image("coffee", media_dir))
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / f"{image.sha256}.image.json").write_text("{half a file")
    before = perception.computed["image"]
    description = describe_image(image, PerceptionCache(folder))
    assert perception.computed["image"] == before + 1
    assert description.labels[0][0] == "espresso"


def test_attachments_to_text_one_line_each(media_dir: Path, cache: PerceptionCache) -> None:
    image = Attachment.from_path(sample_image("chelsea", media_dir))
    audio = Attachment.from_path(speech(SENTENCE, media_dir, "france.wav"))
    lines = attachments_to_text([image, audio], cache).splitlines()
    assert lines[0].startswith("[Image: labels: ") and lines[1].startswith("[Audio transcript: ")
    assert attachments_to_text([], cache) == ""


def test_description_text_format() -> None:
    text = ImageDescription(labels=(("Egyptian cat", 0.77), ("tabby", 0.1)), text="hi  there").to_text()
    assert text == "[Image: labels: Egyptian cat (77%), tabby (10%); text in image: 'hi there']"
    assert ImageDescription(labels=()).to_text() == "[Image: nothing recognised]"


def test_local_backend_answers_about_speech(
    smollm2: object, media_dir: Path, tmp_path: Path
) -> None:
    """End to end: spoken question -> transcript in the prompt -> the real nf4 model answers."""
    from backends.config import Settings
    from backends.local import LocalBackend
    from backends.types import ChatRequest, Message

    audio = Attachment.from_path(speech(SENTENCE, media_dir, "france.wav"))
    cache = PerceptionCache(tmp_path / "p")
    backend = LocalBackend(
        Settings(),
        model=smollm2.model,  # type: ignore[attr-defined]
        tokenizer=smollm2.tokenizer,  # type: ignore[attr-defined]
        perceive=lambda a: attachment_to_text(a, cache),
    )
    request = ChatRequest(
        [Message("user", "Answer the question in the recording.", (audio,))], max_new_tokens=24
    )
    completion = backend.generate(request)
    assert "paris" in completion.text.lower()
    assert completion.attachments_used == (audio.sha256,)
    assert 0 < completion.perception_s < completion.latency_s
