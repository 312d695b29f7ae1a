"""An answer that comes back without `usage` is never booked below its real bill (issue 21, item 2).

The issue's case: a chars/4 guess with no chat-format tokens and 85 tokens an attachment booked
20 prompt tokens for a turn the endpoint billed 36. Here the project's stand-in server runs
the real SmolLM2 (real tokenizer, real chat template with its default system prompt) over
real HTTP; each turn (text, image, audio) is asked twice through the real `openai` client:
once with `usage`, which is the real bill, and once with the `nousage` fault, which leaves it
out as Ollama or a proxy would. The booked tokens and dollars must be at least the real ones,
in the backend's Completion and in a session's ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.session import Session
from backends.cloud import CloudBackend
from backends.config import Settings
from backends.local import LocalBackend
from backends.pricing import PriceTable
from backends.standin import StandinServer
from backends.types import Attachment, ChatRequest, Completion, Message
from tests.media import sample_image, tone_wav
from tests.standin_fakes import EchoBackend
from tests.test_bad_input import standin_price
from tests.test_cloud_recovery import KEY, engine_with, turn

pytestmark = pytest.mark.fault

# What a text-only model behind the endpoint reads for an attachment (real perception is not
# under test here): a few hundred characters, some of them outside ASCII.
PERCEIVED = ("[Attached image: labels tabby cat 0.61, tiger cat 0.22, Egyptian cat 0.09; "
             "text read: «Café Zürich — 東京 2025»] ") * 4


def perceive(attachment: Attachment) -> str:
    return PERCEIVED.replace("image", attachment.kind)


@pytest.fixture(scope="module")
def smollm2_cloud(smollm2: Any) -> Iterator[StandinServer]:
    served = LocalBackend(Settings(local_context_tokens=2048, max_new_tokens=12),
                          model=smollm2.model, tokenizer=smollm2.tokenizer, perceive=perceive)
    with StandinServer(Settings(standin_delay_s=0.0), backend=served) as running:
        yield running


def cloud(server: StandinServer, usage: bool) -> CloudBackend:
    settings = Settings(openai_api_key=KEY, openai_base_url=server.base_url,
                        cloud_model="lcio-standin", cloud_max_retries=0, cloud_timeout_s=120,
                        max_image_side=512)
    return CloudBackend(settings, extra_headers=None if usage else {"X-LCIO-Fault": "nousage"})


def both(server: StandinServer, request: ChatRequest) -> tuple[Completion, Completion]:
    """(the real bill, what is booked without usage) of the same greedy request."""
    real = cloud(server, usage=True).generate(request)
    booked = cloud(server, usage=False).generate(request)
    assert not real.usage_estimated and booked.usage_estimated
    assert booked.text == real.text, "greedy decoding: the same answer both times"
    return real, booked


def request_for(kind: str, folder: Path) -> ChatRequest:
    if kind == "text":
        return ChatRequest([Message("user", "What is the capital of France?")], max_new_tokens=12)
    if kind == "history":
        return ChatRequest([Message("system", "Answer briefly."), Message("user", "Hi!"),
                            Message("assistant", "Hello! How can I help?"),
                            Message("user", "Name three rivers in Europe.")], max_new_tokens=12)
    file = (sample_image("chelsea", folder) if kind == "image" else tone_wav(folder, 3.0, "three.wav"))
    return ChatRequest([Message("user", "What is this?", (Attachment.from_path(file),))],
                       max_new_tokens=12)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text", "history", "image", "audio"])
def test_a_turn_without_usage_is_booked_at_least_at_its_real_bill(
        smollm2_cloud: StandinServer, media_dir: Path, kind: str) -> None:
    real, booked = both(smollm2_cloud, request_for(kind, media_dir))
    assert real.prompt_tokens > 0 and real.completion_tokens > 0
    assert booked.prompt_tokens >= real.prompt_tokens, (booked.prompt_tokens, real.prompt_tokens)
    assert booked.completion_tokens >= real.completion_tokens
    assert booked.cost_usd >= real.cost_usd, (booked.cost_usd, real.cost_usd)


@pytest.mark.slow
def test_the_ledger_books_at_least_the_real_bill(smollm2_cloud: StandinServer,
                                                 tiny_backend: LocalBackend, tmp_path: Path) -> None:
    """The same turn through the engine: what a session's ledger is charged without usage."""
    spent = {}
    for usage in (True, False):
        folder = tmp_path / f"usage-{usage}"
        folder.mkdir()
        engine = engine_with(cloud(smollm2_cloud, usage), tiny_backend, folder)
        session = Session()
        _, record = turn(engine, session, "What is the capital of France?")
        assert record.location == "cloud" and record.status == "answered", record.error
        spent[usage] = session.ledger.spent.usd
    assert spent[False] >= spent[True] > 0, spent


def test_what_is_booked_never_exceeds_what_the_guard_held(tiny_backend: LocalBackend,
                                                          tmp_path: Path) -> None:
    """The bound is the guard's worst case with the answer as received: booking it can never
    spend past what the turn reserved, attachments included."""
    image, audio = sample_image("chelsea", tmp_path), tone_wav(tmp_path, 3.0, "three.wav")
    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend()) as echo:
        engine = engine_with(cloud(echo, usage=False), tiny_backend, tmp_path)
        engine.price_usd = standin_price(PriceTable.load(Settings().price_table))
        session = Session()
        record = list(engine.run(session, "what are these?", [str(image), str(audio)]))[-1].record
    assert record.location == "cloud" and record.status == "answered", record.error
    assert record.action is not None and record.action.attachments == (0, 1)
    assert engine.store.turn(record.turn_id)["usage_estimated"] == 1
    assert record.actual is not None and 0 < record.actual.usd <= record.worst[record.taken].usd
    assert not session.ledger.overspent()
