"""Bad input at the pages' entrances, sent over raw HTTP as the browser (the queue) and a
script (`/call`) send it: issue 21 items 6 and 10. The chat's Blocks and the study's run in
this process on fake models; the engine and the log are real."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.store import SessionStore
from app.ui import ChatUI
from tests.browser_support import launched
from tests.study_helpers import client, join, make_config, make_service, serving
from tests.test_bad_input import make

pytestmark = pytest.mark.fault
SURROGATE = "what is \ud800 this?"  # JSON can carry it ("\\ud800"); UTF-8 cannot


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[tuple[str, SessionStore]]:
    """The chat page on fake models, served: (URL, its log)."""
    engine, store, *_ = make(tmp_path)
    with launched(ChatUI(engine, {"local": "fake-local", "cloud": "fake-cloud"}, ["rule"]).build()
                  ) as url:
        yield url, store


def completed(body: str) -> list[Any]:
    """The outputs of a finished `/call` event stream; fails on Gradio's "event: error"."""
    assert "event: error" not in body, body[-800:]
    events = body.split("event: ")
    done = next(e for e in reversed(events) if e.startswith("complete"))
    return json.loads(done.split("data:", 1)[1])


def queue_call(url: str, api_name: str, data: list[Any]) -> list[Any]:
    """What the browser does: join the queue with JSON written by `json.dumps` (a lone
    surrogate travels as its escape), then read the event stream; the finished call's outputs.
    Fails on "unexpected_error", which is how a reply that cannot be sent reaches the page."""
    config = json.loads(urllib.request.urlopen(f"{url}config", timeout=30).read())
    fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
    session = secrets.token_hex(8)
    join = {"data": data, "fn_index": fn, "session_hash": session, "trigger_id": None,
            "event_data": None}
    urllib.request.urlopen(urllib.request.Request(
        f"{url}gradio_api/queue/join", data=json.dumps(join).encode(),
        headers={"Content-Type": "application/json"}), timeout=30).read()
    with urllib.request.urlopen(f"{url}gradio_api/queue/data?session_hash={session}",
                                timeout=60) as stream:
        for line in stream:
            if not line.startswith(b"data:"):
                continue
            message = json.loads(line[5:])
            assert message["msg"] != "unexpected_error", message
            if message["msg"] == "process_completed":
                assert message["success"], message
                return message["output"]["data"]
    raise AssertionError("the event stream ended before the call completed")


def text_of(message: dict[str, Any]) -> str:
    """A chat message's text as Gradio 6 sends it (a list of typed parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text") or "" for part in content if part.get("type") == "text")


def raw_json_call(url: str, api_name: str, data_json: str) -> str:
    """`/call` as tests/test_security.py's `call_raw`, with the JSON written by hand (NaN is
    not in JSON's grammar, but Python's parser takes it, as a script may send it)."""
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}",
                                     data=f'{{"data": {data_json}}}'.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=30) as r:
        return r.read().decode("utf-8", "replace")


def test_a_lone_surrogate_gets_an_answer_on_the_page_not_an_error(chat) -> None:
    """Item 6: the history holds the cleaned text (U+FFFD), the reply comes back, one row."""
    url, store = chat
    history = queue_call(url, "respond", [{"text": SURROGATE, "files": []}, [], None, "auto",
                                          None, None])[0]
    assert text_of(history[0]) == "what is \ufffd this?"
    assert text_of(history[-1]) == "cloud answer"
    answer, decision, *_ = queue_call(url, "chat", [{"text": SURROGATE, "files": []}, None])
    assert answer == "cloud answer" and decision["status"] == "answered"
    assert [r["prompt"] for r in store.rows()] == ["what is \ufffd this?"] * 2


def test_a_lone_surrogate_gets_an_answer_in_the_study(tmp_path: Path) -> None:
    svc = make_service(make_config(tmp_path))
    with serving(svc) as url:
        token, pid = join(client(url))
        outputs = queue_call(url, "send", [{"text": SURROGATE, "files": []}, token])
    shown = json.dumps(outputs, ensure_ascii=False)
    assert "what is \ufffd this?" in shown and "Paris is lovely" in shown
    assert [t["prompt"] for t in svc.store.turns(pid)] == ["what is \ufffd this?"]


def test_a_whitespace_only_message_gets_a_short_message_and_no_blank_bubble(chat) -> None:
    """Item 10: the chat says the message is empty; no empty speech bubble is added."""
    url, _ = chat
    history = queue_call(url, "respond", [{"text": "  \n ", "files": []}, [], None, "auto", None,
                                          None])[0]
    assert [m["role"] for m in history] == ["assistant"], history
    assert "Your message is empty" in text_of(history[0])


def test_a_weight_that_is_not_a_number_is_said_not_silently_zero(chat) -> None:
    """Item 10: NaN passes the slider's bounds check (every comparison with NaN is false)."""
    url, _ = chat
    outputs = completed(raw_json_call(url, "new_session",
                                      '[0.05, 300, 3000, NaN, 0.3, NaN, "rule"]'))
    note = outputs[-1]
    assert "The quality weight must be a number; it is 1 (the default)" in note, note
    assert "The cost weight must be a number; it is 0.33 (the default)" in note, note


def test_the_header_says_the_cloud_model_is_not_yet_known(tmp_path: Path) -> None:
    """Item 10: an endpoint without LCIO_CLOUD_MODEL names its model only when first asked;
    until then the page's header said "Cloud:  via host"."""
    from app.runtime import Runtime
    from backends.config import Settings
    from tests.test_app_engine import FakeBackend, RulePolicy

    settings = Settings(openai_base_url="http://lcio-user:pw@10.0.0.7:8000/v1",
                        openai_api_key="sk-header-0123456789", cloud_model="")
    class Unnamed(FakeBackend):
        model = ""  # what CloudBackend holds until the endpoint lists its models

        @property
        def model_name(self) -> str:
            return self.model

    cloud = Unnamed("cloud", ["x"])
    runtime = Runtime(settings, tmp_path / "log.sqlite", policies={"rule": RulePolicy},
                      backends={"local": FakeBackend("local", ["x"]), "cloud": cloud})
    ui = ChatUI(runtime.engine, runtime.models(), runtime.policy_names)
    with launched(ui.build()) as url:
        page = urllib.request.urlopen(f"{url}config", timeout=30).read().decode()
    header = next(c["props"]["value"] for c in json.loads(page)["components"]
                  if c["props"].get("elem_id") == "models-in-use")
    assert "**Cloud:** (model not yet known) via 10.0.0.7:8000" in header, header
    assert "pw" not in header and "sk-header" not in header
    cloud.model = "gpt-test"  # once named, the name is shown
    assert runtime.models()["cloud"] == "gpt-test via 10.0.0.7:8000"
