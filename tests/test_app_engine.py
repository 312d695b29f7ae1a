"""The turn engine without a browser: fakes for backends and policy live only here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.engine import Engine
from app.session import BudgetLedger, Cost, Session
from app.store import SessionStore
from backends.base import Backend
from backends.errors import CloudTimeout
from backends.types import ChatRequest, Completion
from policies.base import ActionSpace, Decision, Policy


class RulePolicy(Policy):
    """Cloud with every present image if allowed, else the first allowed action."""

    name = "rule"

    def __init__(self, prefer: str = "cloud", local_subsets: bool = False) -> None:
        self.space = ActionSpace(slots=3, local_subsets=local_subsets)
        self.prefer = prefer
        self.seen: list[np.ndarray] = []

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        self.seen.append(mask.copy())
        acts = self.space.actions
        allowed = [i for i in np.flatnonzero(mask) if acts[i].location == self.prefer]
        i = max(allowed, key=lambda j: len(acts[j].attachments)) if allowed else int(np.flatnonzero(mask)[0])
        return Decision(i, acts[i].location, acts[i].attachments, 0.8,
                        estimates={"latency_s": [1.0] * self.space.n, "cost_usd": [0.001] * self.space.n})


class FakeBackend(Backend):
    def __init__(self, name: str, words: list[str], cost: float = 0.0, fail: Exception | None = None,
                 energy: float = 0.0) -> None:
        self.name, self.words, self.cost, self.fail, self.energy = name, words, cost, fail, energy
        self.requests: list[ChatRequest] = []

    def stream(self, request: ChatRequest) -> Iterator[str | Completion]:
        self.requests.append(request)
        for i, w in enumerate(self.words):
            if self.fail is not None and i == 1:
                raise self.fail
            if request.stop.is_set():
                break
            yield w
        yield Completion(text="".join(self.words[: i + 1]) if self.words else "", backend=self.name,
                         model=f"{self.name}-model", ttft_s=0.01, latency_s=0.5, prompt_tokens=10,
                         completion_tokens=len(self.words), cost_usd=self.cost, energy_j=self.energy,
                         finish_reason="cancelled" if request.stop.is_set() else "stop",
                         attachments_used=tuple(a.sha256 for a in request.messages[-1].attachments))


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    from PIL import Image

    img = tmp_path / "cat.png"
    Image.new("RGB", (8, 8), "red").save(img)
    wav = tmp_path / "q.wav"
    import wave

    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 1600)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    return {"img": img, "wav": wav, "bad": bad, "txt": txt}


def make(tmp_path: Path, cloud: FakeBackend | None = None, policy: Policy | None = None):
    local = FakeBackend("local", ["local ", "answer"], energy=5.0)
    cloud = cloud or FakeBackend("cloud", ["cloud ", "answer"], cost=0.002)
    policy = policy or RulePolicy()
    store = SessionStore(tmp_path / "log.sqlite")
    engine = Engine(store, lambda name: policy, {"local": local, "cloud": cloud}.__getitem__,
                    price_usd=lambda *tokens: 0.001)
    return engine, store, local, cloud, policy


def test_decision_comes_first_then_deltas_then_done(tmp_path: Path, media) -> None:
    engine, store, local, cloud, _ = make(tmp_path)
    session = Session()
    events = list(engine.run(session, "What is in the picture?", [str(media["img"]), str(media["wav"])]))
    kinds = [e.kind for e in events]
    assert kinds[0] == "decision" and kinds[-1] == "done" and "delta" in kinds
    rec = events[-1].record
    assert rec.location == "cloud" and rec.answer == "cloud answer"
    # M4A1 space: the image took slot 0 and was sent; audio takes no slot and is always sent.
    sent = cloud.requests[0].messages[-1].attachments
    assert {a.kind for a in sent} == {"image", "audio"}
    # What the person is told comes from the turn's predictor, with its interval, not the policy's bench
    # estimate (1.0 s here) nor the guard's worst case.
    assert rec.expected_source == "predicted" and rec.expected.latency_s != 1.0
    band = rec.expected_range
    assert band.low.latency_s <= rec.expected.latency_s <= band.high.latency_s
    assert rec.expected.usd == pytest.approx(0.001) and rec.expected.usd < rec.worst[rec.taken].usd + 1e-12
    assert session.ledger.spent.usd == pytest.approx(0.002)
    row = store.turn(rec.turn_id)
    assert row["location"] == "cloud" and row["status"] == "answered"
    assert media["img"].name not in str(row) and rec.slots[0].sha256 in row["attachments_present"]


def test_budget_guard_masks_cloud_and_local_never_charges_dollars(tmp_path: Path) -> None:
    engine, _, local, cloud, policy = make(tmp_path)
    session = Session(ledger=BudgetLedger(limit=Cost(usd=0.0001, latency_s=1e4, energy_j=1e6)))
    events = list(engine.run(session, "hi"))
    rec = events[-1].record
    assert rec.location == "local" and not cloud.requests
    assert not policy.seen[0][1:].any(), "every cloud action must be masked"
    assert all("Cloud dollars" in why for why in rec.masked.values())
    assert session.ledger.spent.usd == 0.0 and session.ledger.spent.energy_j == 5.0


def test_no_affordable_action_is_refused_with_reason_and_nothing_runs(tmp_path: Path) -> None:
    """Running the local model anyway would overrun the waiting-time and energy budgets."""
    engine, store, local, cloud, _ = make(tmp_path)
    session = Session(ledger=BudgetLedger(limit=Cost(usd=0.0, latency_s=0.0, energy_j=0.0)))
    events = list(engine.run(session, "hi"))
    assert [e.kind for e in events] == ["rejected"]
    rec = events[0].record
    assert "budget cannot pay" in rec.error and "Waiting time" in rec.error
    assert not local.requests and not cloud.requests
    assert session.ledger.spent == Cost() and not session.ledger.overspent()
    assert store.turn(rec.turn_id)["status"] == "rejected"


def test_cloud_failure_falls_back_to_local(tmp_path: Path) -> None:
    engine, store, local, _, _ = make(tmp_path, cloud=FakeBackend(
        "cloud", ["a", "b"], fail=CloudTimeout("The cloud did not answer in 60 s.")))
    session = Session()
    events = list(engine.run(session, "hello"))
    kinds = [e.kind for e in events]
    assert "fallback" in kinds and kinds[-1] == "done"
    rec = events[-1].record
    assert rec.location == "local" and rec.answer == "local answer"
    assert "did not answer" in rec.fallback
    assert store.turn(rec.turn_id)["fallback"].startswith("The cloud failed")


@pytest.mark.parametrize("text,files,needle", [
    ("", [], "empty"),
    ("   ", [], "empty"),
    ("x" * 100_000, [], "characters long"),
    ("look", ["bad"], "could not be read"),
    ("look", ["txt"], "not an image or audio"),
    ("look", ["missing"], "could not be found"),
])
def test_bad_input_is_a_message_and_session_goes_on(tmp_path: Path, media, text, files, needle) -> None:
    engine, store, *_ = make(tmp_path)
    session = Session()
    paths = [str(media.get(f, tmp_path / "gone.png")) for f in files]
    events = list(engine.run(session, text, paths))
    assert [e.kind for e in events] == ["rejected"]
    assert needle in events[0].record.error
    assert session.ledger.spent == Cost()
    # The session goes on.
    assert list(engine.run(session, "and now?"))[-1].record.status == "answered"
    assert [r["status"] for r in store.rows(session.id)] == ["rejected", "answered"]


def test_oversized_file_is_refused(tmp_path: Path, media) -> None:
    engine, *_ = make(tmp_path)
    engine.settings = engine.settings.model_copy(update={"max_attachment_mb": 0.00001})
    events = list(engine.run(Session(), "look", [str(media["img"])]))
    assert events[0].kind == "rejected" and "limit" in events[0].record.error


def test_stop_cancels_midway(tmp_path: Path) -> None:
    engine, *_ = make(tmp_path, policy=RulePolicy(prefer="local"))
    session = Session()
    it = engine.run(session, "count")
    assert next(it).kind == "decision"
    assert next(it).kind == "delta"
    assert engine.stop(session.id)
    rest = list(it)
    assert rest[-1].record.status == "cancelled"
    assert not engine.stop(session.id), "nothing runs after the turn"


def test_history_and_observation_follow_turns(tmp_path: Path) -> None:
    engine, *_ = make(tmp_path)
    session = Session()
    for q in ("one", "two", "three"):
        list(engine.run(session, q))
    assert [m.role for m in session.history] == ["user", "assistant"] * 3
    assert session.turn_index == 3 and len(session.per_turn) == 3


def test_bench_space_puts_audio_in_a_slot_after_the_images(tmp_path: Path, media) -> None:
    """As LCIO-Bench lays files out (and the shipped policy learned): images first, then
    audio, each in a slot; with more files than slots the audio keeps its slot."""
    import shutil

    imgs = []
    for i in range(3):
        imgs.append(tmp_path / f"img{i}.png")
        shutil.copy(media["img"], imgs[-1])
    engine, _, local, _, _ = make(tmp_path, policy=RulePolicy(prefer="local", local_subsets=True))
    files = [str(imgs[0]), str(media["wav"]), str(imgs[1]), str(imgs[2])]
    rec = list(engine.run(Session(), "what do you see and hear?", files))[-1].record
    assert [a.kind for a in rec.slots] == ["image", "image", "audio"] and not rec.always
    assert [a.path.name for a in rec.slots[:2]] == ["img0.png", "img1.png"]
    assert [a.path.name for a in rec.extra] == ["img2.png"]
    assert ("more attachments than the policy's slots" in
            [why for a, why in rec.left_out if a.path.name == "img2.png"])
    # the rule policy took local with every slot: the audio is used on the local path too
    assert rec.action.location == "local" and rec.action.attachments == (0, 1, 2)
    assert {a.kind for a in local.requests[0].messages[-1].attachments} == {"image", "audio"}


def test_every_request_starts_with_the_system_prompt_the_guard_also_counts(tmp_path: Path) -> None:
    """The app asks as LCIO-Bench asked (its policy and predictor learnt from those answers),
    and the words of the system prompt are in the guard's worst case like any other."""
    engine, _, local, cloud, _ = make(tmp_path)
    session = Session()
    first = list(engine.run(session, "hello"))[-1].record
    list(engine.run(session, "and again"))
    for request in (local.requests + cloud.requests):
        assert request.messages[0].role == "system"
        assert request.messages[0].text == engine.settings.system_prompt != ""
        assert [m.role for m in request.messages[1:]].count("system") == 0
    long_prompt = engine.settings.model_copy(update={"system_prompt": "Be brief. " * 200})
    none = engine.settings.model_copy(update={"system_prompt": ""})
    engine.settings = long_prompt
    longer = list(engine.run(Session(), "hello"))[-1].record
    engine.settings = none
    bare = list(engine.run(Session(), "hello"))[-1].record
    assert longer.worst[0].latency_s > first.worst[0].latency_s > bare.worst[0].latency_s
    assert (local.requests + cloud.requests)[-1].messages[0].role == "user"  # none sent
