"""Page handlers without a browser, and the `/chat` API through gradio_client.

Backends and the policy are fakes here (unit scope); the real ones run in test_browser.py.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from app.card import decision_card
from app.engine import Engine
from app.online import OnlineLearner, rating_to_quality
from app.session import Session
from app.store import SessionStore
from app.ui import ChatUI
from policies.base import RatingLearner
from tests.test_app_engine import FakeBackend, RulePolicy


class LearningPolicy(RulePolicy, RatingLearner):
    """A rule policy with the learner interface, to check that ratings reach the policy."""

    learner: OnlineLearner | None = None  # set where the learner is built

    @property
    def updates(self) -> list[tuple[int, int, float, str]]:
        """(task, action, rating, source) of each stored lesson: the estimates are 0 and the
        scale 1 here, so a lesson's residual is the rating itself."""
        rows = self.learner.lessons.since() if self.learner else []
        return [(r["task"], r["action"], r["residual"], r["source"]) for r in rows]

    def task_of(self, observation):
        return 0

    def estimates(self, observation):
        return {"quality": np.zeros(self.space.n)}


def chat_on_fakes(tmp_path: Path, learn_from_overrules: bool = False) -> ChatUI:
    """The page's handlers on fake backends and a learning policy (`chat.policy`), with a
    real log and the real online learner."""
    store = SessionStore(tmp_path / "log.sqlite")
    policy = LearningPolicy()
    backends = {"local": FakeBackend("local", ["hi ", "there"], energy=2.0),
                "cloud": FakeBackend("cloud", ["cloud ", "says ", "hi"], cost=0.001)}
    engine = Engine(store, lambda n: policy, backends.__getitem__, price_usd=lambda *tokens: 0.0005)
    learner = OnlineLearner(store, lambda n: policy)
    policy.learner = learner
    if learn_from_overrules:
        engine.on_turn = learner.on_turn
    chat = ChatUI(engine, {"local": "fake-local", "cloud": "fake-cloud"}, ["rule"],
                  rate=learner.rate, learning_points=learner.points_of)
    chat.policy = policy  # type: ignore[attr-defined]
    return chat


@pytest.fixture
def ui(tmp_path: Path) -> ChatUI:
    return chat_on_fakes(tmp_path)


def test_respond_yields_card_before_text_then_gauges(ui: ChatUI, tmp_path: Path) -> None:
    from PIL import Image

    img = tmp_path / "x.png"
    Image.new("RGB", (4, 4)).save(img)
    session = Session(policy_name="rule")
    outs = list(ui.respond({"text": "what is this?", "files": [str(img)]}, [], session))
    history, _, card, *_ = outs[0]
    assert history[-1] == {"role": "assistant", "content": ""}, "no text before the decision"
    assert 'data-location="cloud"' in card and "x.png" in card
    assert history[0]["content"] == {"path": str(img)} and history[1]["content"] == "what is this?"
    final = outs[-1]
    assert final[0][-1]["content"] == "cloud says hi"
    assert isinstance(final[3], gr.Plot) or final[3] is not None  # gauges figure
    assert "1 turns" in final[4] and 'data-status="answered"' in final[2]
    assert session.message_turn[len(final[0]) - 1] == session.turn_ids[-1]


def test_empty_turn_is_a_chat_message(ui: ChatUI) -> None:
    session = Session(policy_name="rule")
    outs = list(ui.respond({"text": "  ", "files": []}, [], session))
    assert len(outs) == 1
    assert outs[0][0][-1]["content"].startswith("⚠️ Your message is empty")
    assert "not sent" in outs[0][2]
    # and the session goes on
    assert list(ui.respond("hello", outs[0][0], session))[-1][0][-1]["content"] == "cloud says hi"


def test_rating_feeds_policy_and_is_stored(ui: ChatUI) -> None:
    session = Session(policy_name="rule")
    history = list(ui.respond("turn on the light", [], session))[-1][0]
    like = gr.LikeData(target=None, data={"index": len(history) - 1, "value": "x", "liked": True})
    note, fig = ui.on_like(session, like)
    assert "learned" in note and ui.policy.updates[-1][2] == 2.0
    note, _ = ui.rate_last("2", session)  # the same turn again: stored, but it taught once
    assert len(ui.policy.updates) == 1 and "already rated" in note
    list(ui.respond("turn off the light", [], session))
    ui.rate_last("2", session)
    assert ui.policy.updates[-1][2] == pytest.approx(0.5)
    rows = ui.engine.store.rows(session.id)
    assert rows[0]["rating_stars"] == 2 and rows[-1]["rating_stars"] == 2
    assert [r["thumbs"] for r in ui.engine.store.ratings()] == [1, None, None]


def test_rating_to_quality_scale() -> None:
    assert rating_to_quality(1, None) == 2.0 and rating_to_quality(-1, None) == 0.0
    assert rating_to_quality(None, 1) == 0.0 and rating_to_quality(None, 5) == 2.0
    assert rating_to_quality(None, None) is None


def test_new_session_applies_settings(ui: ChatUI) -> None:
    session, history, card, *_ = ui.new_session(0.0, 500, 10000, 1.0, 0.5, 0.2, "rule")
    assert session.ledger.limit.usd == 0.0 and session.ledger.limit.latency_s == 500
    assert history == [] and 'data-turn="0"' in card
    # with no dollars, the guard keeps the turn local
    assert list(ui.respond("hi", [], session))[-1][0][-1]["content"] == "hi there"


def test_export_csv_and_jsonl(ui: ChatUI) -> None:
    session = Session(policy_name="rule")
    list(ui.respond("one", [], session))
    list(ui.respond("two", [], session))
    rows = list(csv.DictReader(io.StringIO(Path(ui.export("CSV", session)).read_text())))
    assert [r["prompt"] for r in rows] == ["one", "two"] and rows[0]["location"] == "cloud"
    lines = Path(ui.export("JSONL", session)).read_text().splitlines()
    first = json.loads(lines[0])
    assert isinstance(first["observation"], list) and first["decision"]["estimates"]


def test_card_escapes_html(ui: ChatUI) -> None:
    session = Session(policy_name="rule")
    rec = list(ui.engine.run(session, "<script>alert(1)</script>"))[-1].record
    rec.fallback = "<b>x</b>"
    assert "<b>x</b>" not in decision_card(rec)


def test_store_never_holds_the_api_key(tmp_path: Path, monkeypatch) -> None:
    from backends.config import get_settings

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    get_settings.cache_clear()
    try:
        store = SessionStore(tmp_path / "k.sqlite")
        tid = store.log_turn({"session_id": "s", "turn_index": 0, "error": "bad key sk-test-secret-123"})
        assert "sk-test-secret-123" not in json.dumps(store.turn(tid))
    finally:
        get_settings.cache_clear()


def test_chat_api_through_gradio_client(ui: ChatUI, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file
    from PIL import Image

    img = tmp_path / "y.png"
    Image.new("RGB", (4, 4), "blue").save(img)
    demo = ui.build()
    demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None,
                        quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        answer, decision = client.predict({"text": "hello", "files": [handle_file(str(img))]},
                                          api_name="/chat")
        assert answer == "cloud says hi"
        assert decision["location"] == "cloud" and decision["attachments_used"][0]["kind"] == "image"
        assert decision["actual"]["cost_usd"] == pytest.approx(0.001)
        # per-client session: the second turn is turn 2 of the same session
        answer2, decision2 = client.predict({"text": "again", "files": []}, api_name="/chat")
        assert decision2["turn"] == 2
        bad, dec = client.predict({"text": "", "files": []}, api_name="/chat")
        assert bad.startswith("⚠️") and dec["status"] == "rejected"
        # another client is another session
        other = Client(demo.local_url, verbose=False)
        assert other.predict({"text": "hi", "files": []}, api_name="/chat")[1]["turn"] == 1
    finally:
        demo.close()


class SlowCloud(FakeBackend):
    """Counts how many turns are inside the cloud at once."""

    def __init__(self) -> None:
        super().__init__("cloud", ["a", "b"], cost=0.001)
        self.inside = 0
        self.most = 0
        self.gate = __import__("threading").Lock()

    def stream(self, request):
        import time

        with self.gate:
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            time.sleep(0.8)
            yield from super().stream(request)
        finally:
            with self.gate:
                self.inside -= 1


def test_two_clients_run_cloud_turns_concurrently_with_own_sessions(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    store = SessionStore(tmp_path / "c.sqlite")
    policy = RulePolicy()
    cloud = SlowCloud()
    backends = {"local": FakeBackend("local", ["x"]), "cloud": cloud}
    ui = ChatUI(Engine(store, lambda n: policy, backends.__getitem__), {}, ["rule"])
    demo = ui.build()
    demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        clients = [Client(demo.local_url, verbose=False) for _ in range(3)]
        with ThreadPoolExecutor(3) as pool:
            results = list(pool.map(
                lambda c: c.predict({"text": "hi", "files": []}, api_name="/chat"), clients))
        assert all(r[1]["turn"] == 1 and r[1]["status"] == "answered" for r in results)
        assert cloud.most >= 2, "cloud turns of different sessions overlap"
        assert len({r["session_id"] for r in store.rows()}) == 3
    finally:
        demo.close()
