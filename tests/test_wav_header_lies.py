"""A WAV cannot lie about its length with its size fields (issue 21, item 8).

A RIFF/WAVE header says how many bytes of sound follow, and whoever made the file wrote it.
One that claims an hour over one second of sound must be measured (and let through) as one
second; one that claims a second over ten minutes of sound must be measured, refused and
priced as ten minutes. Both go through the page's handler (`ChatUI.respond`) and the turn
engine, as an upload would; what would be sent to the cloud is the same sound, with a header
that says so.
"""

from __future__ import annotations

import base64
import io
import wave
from pathlib import Path

import pytest

from app.session import Session
from app.ui import ChatUI
from backends.config import Settings
from backends.media import MediaLimits, audio_duration_s, audio_wav_b64
from backends.pricing import PriceTable
from backends.types import Attachment
from tests.media import tone_wav
from tests.test_app_engine import RulePolicy
from tests.test_bad_input import make, standin_price

pytestmark = pytest.mark.fault

HOUR_S = 3600.0
RIFF_SIZE_AT, DATA_SIZE_AT = 4, 40  # in the 44-byte header `wave` writes


def lying_wav(folder: Path, name: str, holds_s: float, claims_s: float, rate: int = 16_000) -> Path:
    """A 16-bit mono tone holding `holds_s` seconds whose RIFF and data sizes claim `claims_s`."""
    path = tone_wav(folder, holds_s, name, rate=rate)
    data = bytearray(path.read_bytes())
    assert data[36:40] == b"data", "the data chunk must follow a 16-byte fmt chunk"
    claimed = int(claims_s * rate) * 2
    data[DATA_SIZE_AT:DATA_SIZE_AT + 4] = claimed.to_bytes(4, "little")
    data[RIFF_SIZE_AT:RIFF_SIZE_AT + 4] = (36 + claimed).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def header_claims_s(path: Path) -> float:
    with wave.open(str(path)) as reader:
        return reader.getnframes() / reader.getframerate()


def sent_wav(attachment: Attachment) -> tuple[float, int]:
    """Seconds the header of the WAV sent to the cloud claims, and the frames it holds."""
    data = base64.b64decode(audio_wav_b64(attachment.path, attachment.sha256))
    with wave.open(io.BytesIO(data)) as reader:
        claimed = reader.getnframes() / reader.getframerate()
    return claimed, (len(data) - 44) // 2


def audio_of(record) -> Attachment:  # noqa: ANN001 (the engine's TurnRecord)
    return next(a for a in [*record.slots, *record.always] if a.kind == "audio")


@pytest.mark.parametrize("rate", [16_000, 44_100])
def test_a_header_claiming_an_hour_over_one_second_is_one_second(tmp_path: Path, rate: int) -> None:
    wav = lying_wav(tmp_path, f"hour-{rate}.wav", holds_s=1.0, claims_s=HOUR_S, rate=rate)
    assert header_claims_s(wav) == pytest.approx(HOUR_S), "the lie is in the header"
    engine, *_ = make(tmp_path)
    ui = ChatUI(engine, {"local": "fake-local", "cloud": "fake-cloud"}, ["rule"])
    session = Session(policy_name="rule")
    shown = list(ui.respond({"text": "listen", "files": [str(wav)]}, [], session))[-1][0]
    assert not any("limit is" in str(m["content"]) for m in shown), shown
    assert shown[-1]["role"] == "assistant" and "answer" in shown[-1]["content"]

    record = list(engine.run(Session(), "listen", [str(wav)]))[-1].record
    assert record.status == "answered", record.error
    audio = audio_of(record)
    assert audio.duration_s == pytest.approx(1.0, abs=0.01)
    claimed, held = sent_wav(audio)
    assert claimed == pytest.approx(1.0, abs=0.01) and held / 16_000 == pytest.approx(claimed)


@pytest.mark.parametrize("rate,message", [(16_000, "10:00 min long"), (44_100, "longer than 5:01 min")])
def test_a_header_claiming_one_second_over_ten_minutes_is_refused_as_ten(
        tmp_path: Path, rate: int, message: str) -> None:
    wav = lying_wav(tmp_path, f"second-{rate}.wav", holds_s=600.0, claims_s=1.0, rate=rate)
    assert header_claims_s(wav) == pytest.approx(1.0)
    engine, _, local, cloud = make(tmp_path, max_audio_s=300, max_attachment_mb=60)
    events = list(engine.run(Session(), "summarise", [str(wav)]))
    assert [e.kind for e in events] == ["rejected"]
    assert message in events[0].record.error and "limit is 5:00 min" in events[0].record.error
    assert not local.requests and not cloud.requests


def test_a_header_claiming_one_second_over_ten_minutes_is_priced_as_ten(tmp_path: Path) -> None:
    """Under the limit, it is priced (and masked on a $0.05 budget) as the ten minutes it holds,
    and the cloud would be sent those ten minutes under a header that says so."""
    wav = lying_wav(tmp_path, "lecture.wav", holds_s=600.0, claims_s=1.0)
    table = PriceTable.load(Settings().price_table)
    engine, _, _, cloud = make(tmp_path, price=standin_price(table))
    session = Session()
    record = list(engine.run(session, "summarise the lecture", [str(wav)]))[-1].record
    audio = audio_of(record)
    assert audio.duration_s == pytest.approx(600.0, abs=0.01)
    actions = RulePolicy(local_subsets=True).space.actions
    slot = record.slots.index(audio)
    with_audio = [i for i, a in enumerate(actions) if a.location == "cloud" and slot in a.attachments]
    assert with_audio and all(i in record.masked for i in with_audio)
    assert all(record.worst[i].usd > 0.05 for i in with_audio)
    assert not any(a.kind == "audio" for r in cloud.requests for a in r.messages[-1].attachments)
    assert not session.ledger.overspent()
    claimed, held = sent_wav(audio)
    assert claimed == pytest.approx(600.0, abs=0.01) and held / 16_000 == pytest.approx(claimed)


def test_a_tag_after_the_sound_is_not_sound(tmp_path: Path) -> None:
    """An honest WAV with a LIST chunk after its data keeps its length (the tag is not audio)."""
    wav = tone_wav(tmp_path, 2.0, "tagged.wav")
    tag = b"INFOISFT" + (14).to_bytes(4, "little") + b"lcio test rig\0"
    data = bytearray(wav.read_bytes() + b"LIST" + len(tag).to_bytes(4, "little") + tag)
    data[RIFF_SIZE_AT:RIFF_SIZE_AT + 4] = (len(data) - 8).to_bytes(4, "little")
    wav.write_bytes(bytes(data))
    assert audio_duration_s(wav) == pytest.approx(2.0, abs=1e-3)
    attachment = Attachment.from_path(wav, limits=MediaLimits())
    assert attachment.duration_s == pytest.approx(2.0, abs=1e-3)
