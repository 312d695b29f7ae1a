"""Every kind of bad input, through the turn engine: a clear message, the session, its ledger
and its log intact, a log row with its own index, and the next normal turn answered.

Fakes for the models come from tests/test_app_engine.py; the files are real (tests/media.py).
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from app.engine import REJECTED_PROMPT_CHARS, Engine, Overrule
from app.session import BudgetLedger, Cost, Session
from app.store import SessionStore
from backends.config import Settings
from backends.errors import CloudStreamDropped
from backends.media import ACCEPTED_EXTENSIONS
from backends.pricing import PriceTable
from tests.media import corrupt_file, minimal_pdf, pixel_bomb, sample_image, tone_wav, truncated_copy
from tests.test_app_engine import FakeBackend, RulePolicy

pytestmark = pytest.mark.fault


def make(tmp_path: Path, cloud: FakeBackend | None = None, prefer: str = "cloud",
         price: Callable[..., float] | None = None, **settings: object):
    local = FakeBackend("local", ["local ", "answer"], energy=5.0)
    cloud = cloud or FakeBackend("cloud", ["cloud ", "answer"], cost=0.002)
    policy = RulePolicy(prefer=prefer, local_subsets=True)
    store = SessionStore(tmp_path / "log.sqlite")
    engine = Engine(store, lambda name: policy, {"local": local, "cloud": cloud}.__getitem__,
                    settings=Settings(**settings), price_usd=price or (lambda *tokens: 0.001))
    return engine, store, local, cloud


def jpeg(folder: Path) -> Path:
    from PIL import Image

    path = folder / "coffee.jpg"
    Image.open(sample_image("coffee", folder)).convert("RGB").save(path, quality=90)
    return path


def png_named_wav(folder: Path) -> Path:
    path = folder / "voice.wav"
    shutil.copy(sample_image("coffee", folder), path)
    return path


def empty(folder: Path) -> Path:
    path = folder / "empty.png"
    path.write_bytes(b"")
    return path


def archive(folder: Path) -> Path:
    path = folder / "photos.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", "hello")
    return path


# name -> (text, files(folder), settings, words the message must contain)
CASES: dict[str, tuple[str, Callable[[Path], list[Path]], dict, tuple[str, ...]]] = {
    "corrupt image": ("look", lambda d: [corrupt_file(d, "photo.png")], {},
                      ("photo.png", "could not be read")),
    "empty file": ("look", lambda d: [empty(d)], {}, ("empty.png", "is empty")),
    "wrong type": ("listen", lambda d: [png_named_wav(d)], {}, ("voice.wav", "not a valid WAV")),
    "truncated jpeg": ("look", lambda d: [truncated_copy(jpeg(d), d, "cut.jpg")], {},
                       ("cut.jpg", "could not be read")),
    "pixel bomb 12000": ("look", lambda d: [pixel_bomb(d, 12_000, "bomb.png")], {},
                         ("bomb.png", "12000x12000", "144 megapixels", "at most 40")),
    "pixel bomb 30000": ("look", lambda d: [pixel_bomb(d, 30_000, "huge.png")], {},
                         ("huge.png", "megapixels")),
    "over the pixel cap": ("look", lambda d: [sample_image("coffee", d)], {"max_image_pixels": 10_000},
                           ("coffee.png", "600x400", "0.24 megapixels", "0.01 megapixels")),
    "over-size": ("look", lambda d: [sample_image("coffee", d)], {"max_attachment_mb": 0.01},
                  ("coffee.png", "limit is")),
    "long audio": ("listen", lambda d: [tone_wav(d, 61, "talk.wav")], {"max_audio_s": 60},
                   ("talk.wav", "1:01 min", "limit is 1:00 min")),
    "unsupported types": ("read these", lambda d: [minimal_pdf(d), archive(d),
                                                    corrupt_file(d, "clip.mp4")], {},
                          ("paper.pdf", "photos.zip", "clip.mp4", "PNG", "JPG", "WAV", "MP3")),
    "too many files": ("look", lambda d: [sample_image("coffee", d)] * 9, {}, ("9 files", "at most 8")),
    "empty prompt": ("   ", lambda d: [], {}, ("empty",)),
    "enormous prompt": ("x" * 5_000_000, lambda d: [], {}, ("5,000,000 characters", "limit")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_clearly_and_the_session_goes_on(tmp_path: Path, case: str) -> None:
    text, files, settings, needles = CASES[case]
    engine, store, local, cloud = make(tmp_path, **settings)
    session = Session()
    first = list(engine.run(session, "hello"))[-1].record
    assert first.status == "answered"
    spent, history = session.ledger.spent, list(session.history)

    events = list(engine.run(session, text, [str(p) for p in files(tmp_path)]))
    assert [e.kind for e in events] == ["rejected"]
    message = events[0].record.error
    for needle in needles:
        assert needle in message, (needle, message)
    assert "Nothing was sent" in message or case.endswith("prompt")
    # Nothing reached a model; the ledger and the history are as they were.
    assert len(local.requests) + len(cloud.requests) == 1
    assert session.ledger.spent == spent and session.history == history

    after = list(engine.run(session, "and now?"))[-1].record
    assert after.status == "answered" and after.answer
    rows = store.rows(session.id)
    assert [r["status"] for r in rows] == ["answered", "rejected", "answered"]
    assert [r["turn_index"] for r in rows] == [0, 1, 2], "every logged turn has its own index"
    assert len(rows[1]["prompt"]) <= REJECTED_PROMPT_CHARS + 100, "a refused prompt is cut"
    assert session.turn_index == 2, "observations count the turns that reached a model"


def test_lone_surrogate_is_answered_and_logged(tmp_path: Path) -> None:
    engine, store, local, _ = make(tmp_path, prefer="local")
    session = Session()
    record = list(engine.run(session, "what is \ud800 this?"))[-1].record
    assert record.status == "answered" and record.turn_id is not None
    row = store.turn(record.turn_id)
    assert row["prompt"] == "what is \ufffd this?"
    assert local.requests[0].messages[-1].text == "what is \ufffd this?"
    # A surrogate pair that arrived as two code points is one character again.
    record = list(engine.run(session, "smile \ud83d\ude00"))[-1].record
    assert store.turn(record.turn_id)["prompt"] == "smile \U0001F600"


def test_accepted_extensions_are_what_the_engine_takes(tmp_path: Path) -> None:
    """The constant the upload control offers is the set of suffixes the engine accepts."""
    from backends.types import AUDIO_SUFFIXES, IMAGE_SUFFIXES

    assert set(ACCEPTED_EXTENSIONS) == IMAGE_SUFFIXES | AUDIO_SUFFIXES
    assert ".pdf" not in ACCEPTED_EXTENSIONS


def standin_price(table: PriceTable) -> Callable[[int, int, int, int], float]:
    return lambda prompt, new, audio, image: table.worst_case_cost("lcio-standin", prompt, new,
                                                                   audio, image)


def test_ten_minute_wav_cannot_reach_the_cloud_on_a_five_cent_budget(tmp_path: Path) -> None:
    """The issue's reproduction: a 10-minute WAV cost $0.060 against a $0.05 budget."""
    table = PriceTable.load(Settings().price_table)
    engine, _, _, cloud = make(tmp_path, price=standin_price(table))
    session = Session()  # the default $0.05 budget
    wav = tone_wav(tmp_path, 600, "lecture.wav")
    record = list(engine.run(session, "summarise the lecture", [str(wav)]))[-1].record
    actions = RulePolicy(local_subsets=True).space.actions
    audio_slot = record.slots.index(next(a for a in record.slots if a.kind == "audio"))
    with_audio = [i for i, a in enumerate(actions) if a.location == "cloud" and audio_slot in a.attachments]
    assert with_audio and all(i in record.masked for i in with_audio)
    assert all(record.worst[i].usd > 0.05 for i in with_audio)
    assert record.slots[audio_slot].duration_s == pytest.approx(600, abs=0.01)
    assert not any(a.kind == "audio" for r in cloud.requests for a in r.messages[-1].attachments)
    assert not session.ledger.overspent()


def test_images_are_priced_at_their_size_after_downscaling(tmp_path: Path) -> None:
    """A wide image costs more tiles than a small one; both measured from the header."""
    from PIL import Image

    small, wide = tmp_path / "small.png", tmp_path / "wide.png"
    Image.new("RGB", (300, 200), "red").save(small)
    Image.new("RGB", (4000, 3000), "red").save(wide)
    table = PriceTable.load(Settings().price_table)
    engine, *_ = make(tmp_path, price=standin_price(table))
    costs = {}
    for image in (small, wide):
        record = list(engine.run(Session(), "what colour?", [str(image)]))[-1].record
        cloud_with = next(i for i, a in enumerate(RulePolicy(local_subsets=True).space.actions)
                          if a.location == "cloud" and a.attachments == (0,))
        costs[image.name] = record.worst[cloud_with]
        assert (record.slots[0].width, record.slots[0].height) == Image.open(image).size
    assert costs["wide.png"].usd > costs["small.png"].usd
    assert costs["wide.png"].latency_s > costs["small.png"].latency_s


def test_a_stream_broken_after_chunks_books_its_dollars_and_falls_back(tmp_path: Path) -> None:
    broken = FakeBackend("cloud", ["a", "b"], fail=CloudStreamDropped("cut off", cost_usd=0.003))
    engine, store, local, _ = make(tmp_path, cloud=broken)
    session = Session()
    record = list(engine.run(session, "hello"))[-1].record
    assert record.status == "answered" and record.location == "local"
    assert session.ledger.spent.usd == pytest.approx(0.003)
    assert record.actual.usd == pytest.approx(0.003)
    assert store.turn(record.turn_id)["cost_usd"] == pytest.approx(0.003)


def test_the_fallback_is_guarded_too(tmp_path: Path) -> None:
    """With no energy left the cloud may answer, but when it fails the local model must not."""
    broken = FakeBackend("cloud", ["a", "b"], fail=CloudStreamDropped("cut off"))
    engine, _, local, _ = make(tmp_path, cloud=broken)
    session = Session(ledger=BudgetLedger(limit=Cost(usd=0.05, latency_s=300, energy_j=0.0)))
    record = list(engine.run(session, "hello"))[-1].record
    assert record.status == "failed" and "cannot pay a local answer" in record.error
    assert not local.requests and not session.ledger.overspent()


class SlowBackend(FakeBackend):
    """Streams slower than any prior assumes, to show the deadline stopping it."""

    def stream(self, request):
        import time

        for item in super().stream(request):
            if isinstance(item, str):
                time.sleep(0.1)
            yield item


def test_an_answer_slower_than_the_guard_assumed_is_stopped_at_the_budget(tmp_path: Path) -> None:
    engine, *_ = make(tmp_path, prefer="local")
    slow = SlowBackend("local", ["w "] * 200)
    engine.backend_for = {"local": slow}.__getitem__
    session = Session(ledger=BudgetLedger(limit=Cost(usd=0.0, latency_s=3.0, energy_j=1e6)))
    record = list(engine.run(session, "count", max_new_tokens=4))[-1].record
    assert record.status == "cancelled" and "budget ran out" in record.error
    assert slow.requests[0].stop.is_set()
    assert record.answer.count("w") < 200


def test_two_turns_of_one_session_at_once_cannot_both_spend_what_is_left(tmp_path: Path) -> None:
    """Two API calls on one session: the second sees the first's worst case held."""
    engine, _, local, cloud = make(tmp_path)  # every cloud answer costs $0.002, priced $0.002
    engine.price_usd = lambda *tokens: 0.002
    session = Session(ledger=BudgetLedger(limit=Cost(usd=0.003, latency_s=300, energy_j=0.0)))
    first = engine.run(session, "one")
    assert next(first).kind == "decision" and session.ledger.reserved.usd == pytest.approx(0.002)
    second = list(engine.run(session, "two"))
    assert [e.kind for e in second] == ["rejected"] and "budget cannot pay" in second[0].record.error
    assert list(first)[-1].record.status == "answered"
    assert session.ledger.reserved == Cost() and not session.ledger.overspent()
    assert len(cloud.requests) == 1 and not local.requests


def test_the_page_keeps_history_and_empties_the_box_after_a_pixel_bomb(tmp_path: Path) -> None:
    from app.ui import ChatUI

    engine, *_ = make(tmp_path)
    ui = ChatUI(engine, {"local": "fake-local", "cloud": "fake-cloud"}, ["rule"])
    session = Session(policy_name="rule")
    history = list(ui.respond("hello", [], session))[-1][0]
    bomb = pixel_bomb(tmp_path, 30_000, "bomb.png")
    outs = list(ui.respond({"text": "what is this?", "files": [str(bomb)]}, history, session))
    shown, box = outs[-1][0], outs[-1][1]
    assert shown[: len(history)] == history, "the earlier chat stays"
    assert "bomb.png" in shown[-1]["content"] and "megapixels" in shown[-1]["content"]
    assert not any(isinstance(m["content"], dict) for m in shown), "the bomb is never shown"
    assert box.value == {"text": "", "files": []} and box.interactive is True, "the box is emptied"
    after = list(ui.respond("and now?", shown, session))[-1][0]
    assert after[-1]["role"] == "assistant" and "answer" in after[-1]["content"]


def test_a_fallback_says_why_before_what_the_policy_chose(tmp_path: Path) -> None:
    """Issue 21 item 9: the card and the chat's panel open with the cloud's failure, not with
    "Local, because the policy decides so" (the policy chose the cloud)."""
    from app.card import decision_card
    from app.ui import ChatUI

    broken = FakeBackend("cloud", ["a", "b"], fail=CloudStreamDropped("cut off"))
    engine, *_ = make(tmp_path, cloud=broken)
    ui = ChatUI(engine, {"local": "fake-local", "cloud": "fake-cloud"}, ["rule"])
    session = Session(policy_name="rule")
    history, _, card, *_ = list(ui.respond("hello", [], session))[-1]
    panel = next(m["content"] for m in history if (m.get("metadata") or {}).get("id"))
    assert panel.startswith("Local, as a fallback: The cloud failed (cut off)"), panel
    assert "because the policy" not in panel and "had been chosen by the policy" in panel
    record = engine.store.turn(session.turn_ids[-1])
    assert record["fallback"].startswith("The cloud failed")
    why = card.split('class="lcio-why lcio-fallback">', 1)[1]
    assert why.startswith("Local, as a fallback: The cloud failed (cut off)"), card
    assert card.count("The cloud failed") == 1, "said once, first"
    forced = list(engine.run(session, "again", overrule=Overrule("cloud")))[-1].record
    assert "had been chosen by you" in decision_card(forced)
