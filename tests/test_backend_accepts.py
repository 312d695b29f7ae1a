"""Backends declare what they take (`Backend.accepts`), and the engine masks every action that
would send them anything else before the policy decides: a cloud that refuses audio is never
chosen with the recording, so the refusal costs no fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.engine import Engine
from app.session import Session
from app.store import SessionStore
from backends.base import Accepts
from backends.cloud import CloudBackend
from backends.config import Settings
from backends.errors import ModalityRefused
from backends.standin import StandinServer
from backends.types import Attachment, ChatRequest, Message
from policies import roster
from policies.base import ActionSpace
from policies.bench.observation import BENCH_SPACE
from policies.roster import Kit
from tests.media import sample_image, tone_wav
from tests.standin_fakes import EchoBackend
from tests.test_app_engine import FakeBackend

KEY = "sk-test-accepts-0123456789"
pytestmark = pytest.mark.fault


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinServer]:
    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend()) as running:
        yield running


def refusing_audio(server: StandinServer) -> CloudBackend:
    """The real cloud backend against the real stand-in over HTTP, configured as an endpoint
    that takes no audio (LCIO_CLOUD_ACCEPTS_AUDIO=false)."""
    return CloudBackend(Settings(openai_api_key=KEY, openai_base_url=server.base_url,
                                 cloud_max_retries=0, cloud_timeout_s=10.0, max_image_side=128,
                                 cloud_accepts_audio=False))


def engine_with(cloud: object, tmp_path: Path, policy_name: str) -> Engine:
    policy = roster.build(policy_name, Kit("bench", BENCH_SPACE, observer=lambda context: np.zeros(1)))
    local = FakeBackend("local", ["local ", "answer"], energy=5.0)
    return Engine(SessionStore(tmp_path / "log.sqlite"), lambda name: policy,
                  {"local": local, "cloud": cloud}.__getitem__, price_usd=lambda *tokens: 1e-6,
                  observe=lambda session, record, space: np.zeros(1))


def test_the_cloud_backend_declares_what_its_configuration_says(standin: StandinServer) -> None:
    assert refusing_audio(standin).accepts() == Accepts(images=True, audio=False)
    assert CloudBackend(Settings(cloud_accepts_images=False, cloud_max_audio_s=30.0)).accepts() == \
        Accepts(images=False, audio=True, max_audio_s=30.0)


def test_a_cloud_that_refuses_audio_is_never_sent_the_recording(standin: StandinServer,
                                                                 tmp_path: Path) -> None:
    """cloud-only takes the fullest cloud action the mask allows: with the mask from the
    backend's declaration it answers in the cloud with the picture and without the audio."""
    cloud = refusing_audio(standin)
    engine = engine_with(cloud, tmp_path, "cloud-only")
    picture, audio = sample_image("coffee", tmp_path), tone_wav(tmp_path, 1.0)
    for turn in range(3):
        session = Session(policy_name="cloud-only")
        record = list(engine.run(session, f"What is this? ({turn})", [str(picture), str(audio)]))[-1].record
        assert record.status == "answered" and record.location == "cloud", record.error
        used = [record.slots[i].kind for i in record.action.attachments]
        assert used == ["image"], used
        assert not record.fallback, record.fallback  # the cloud answered: nothing was refused
        audio_slot = [i for i, a in enumerate(record.slots) if a.kind == "audio"][0]
        refused = [i for i, a in enumerate(BENCH_SPACE.actions)
                   if a.location == "cloud" and audio_slot in a.attachments]
        assert refused and all("does not accept audio" in record.refused[i] for i in refused)
        assert not set(refused) & set(record.masked), "what a model does not take is not the budget's"
        logged = json.loads(engine.store.turn(record.turn_id)["decision"])
        assert set(logged["not_taken"].values()) == {"the cloud model does not accept audio"}


def test_the_cloud_backend_refuses_a_direct_request_it_does_not_take(standin: StandinServer,
                                                                     tmp_path: Path) -> None:
    cloud = refusing_audio(standin)
    audio = Attachment.from_path(tone_wav(tmp_path, 1.0))
    with pytest.raises(ModalityRefused, match="LCIO_CLOUD_ACCEPTS_AUDIO"):
        cloud.generate(ChatRequest([Message("user", "hi", (audio,))], max_new_tokens=8))


def test_a_turn_no_backend_takes_is_refused_with_the_reason(tmp_path: Path) -> None:
    """In the M4A1 layout audio takes no slot and goes with every action: if neither side takes
    it, no action is offered and the turn is refused with why, before anything is sent."""
    class Deaf(FakeBackend):
        def accepts(self) -> Accepts:
            return Accepts(audio=False)

    policy = roster.build("local-only", Kit("m4a1", ActionSpace(), observer=lambda context: np.zeros(1)))
    local, cloud = Deaf("local", ["y"]), Deaf("cloud", ["x"])
    engine = Engine(SessionStore(tmp_path / "log.sqlite"), lambda name: policy,
                    {"local": local, "cloud": cloud}.__getitem__, price_usd=lambda *tokens: 1e-6,
                    observe=lambda session, record, space: np.zeros(1))
    record = list(engine.run(Session(policy_name="local-only"), "what did I say?",
                             [str(tone_wav(tmp_path, 1.0))]))[-1].record
    assert record.status == "rejected" and "does not accept audio" in record.error
    assert not local.requests and not cloud.requests
