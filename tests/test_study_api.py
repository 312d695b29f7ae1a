"""Blinding and the token, through the real HTTP API: the study's Blocks launched on
127.0.0.1 (fake backends), driven by gradio_client like any script could."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.study.ui import StudyUI
from tests.study_helpers import FORBIDDEN, TOKEN, make_config, make_service


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    svc = make_service(make_config(tmp_path))
    demo = StudyUI(svc).build()
    port = _port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                        quiet=True)
    yield f"http://127.0.0.1:{port}/", svc
    demo.close()


def _leaks(payload: Any) -> list[str]:
    text = json.dumps(payload, default=str).lower()
    return [w for w in FORBIDDEN if w in text]


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False)


def _join(client: Any) -> tuple[str, str]:
    """Consent through the API: (the browser's secret token, the participant id shown)."""
    out = client.predict(True, None, "", api_name="/consent")
    return out[0], re.search(r"p-[0-9a-f]{16}", out[-1]).group(0)


def test_participant_api_never_returns_decision_information(served: tuple[str, Any]) -> None:
    url, svc = served
    client = _client(url)
    seen: list[Any] = [client.predict(None, api_name="/resume")]
    consent = client.predict(True, None, "", api_name="/consent")
    seen.append(consent[1:])  # [0] is this browser's own secret token
    token = consent[0]
    for i, question in enumerate(["Where should I travel?", "What should I eat there?"]):
        job = client.submit({"text": question, "files": []}, token, api_name="/send")
        job.result()
        seen += job.outputs()  # every streamed update, not only the last
        assert any("is" in json.dumps(o) for o in job.outputs()), "an answer came back"
        seen.append(client.predict(token, str(4 - i), f"comment {i}", api_name="/rate"))
    seen.append(client.predict(token, "4", "3", "", api_name="/questionnaire"))
    seen.append(client.predict(token, api_name="/resume"))
    assert _leaks(seen) == [], _leaks(seen)
    # the server did record the hidden side: the decision log has locations and models
    rows = svc.store.turn_rows()
    assert [r["rating"] for r in rows] == [4, 3]
    assert all(r["location"] in ("local", "cloud") and r["model"] for r in rows)
    assert _leaks(rows), "the detector does find the hidden fields where they are"
    # and the public page config and API description carry none of it (nor the token)
    config = urllib.request.urlopen(url + "config", timeout=10).read().decode()
    info = urllib.request.urlopen(url + "gradio_api/info", timeout=10).read().decode()
    for doc in (config, info):
        assert TOKEN not in doc and "always-cloud" not in doc and "always-local" not in doc
        assert "researcher_dashboard" not in info and "researcher_export" not in info


def test_participants_cannot_see_each_other(served: tuple[str, Any]) -> None:
    url, svc = served
    a, b = _client(url), _client(url)
    tok_a, pid_a = _join(a)
    a.submit({"text": "my secret hobby is chess", "files": []}, tok_a, api_name="/send").result()
    tok_b, pid_b = _join(b)
    assert pid_b != pid_a and tok_b != tok_a
    assert "chess" not in json.dumps(b.predict(tok_b, api_name="/resume"))
    guessed = b.predict("p-0000000000000000", api_name="/resume")  # an id that is not theirs
    assert "chess" not in json.dumps(guessed) and guessed[-1] == ""
    # B cannot rate A's turn with their own token
    b.predict(tok_b, "1", "x", api_name="/rate")
    assert [t["rating"] for t in svc.store.turns(pid_a)] == [None]
    assert svc.store.turns(pid_b) == []


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN[:-1], TOKEN + "x"])
def test_researcher_endpoints_need_the_token(served: tuple[str, Any], token: str | None) -> None:
    url, _ = served
    client = _client(url)
    tok, pid = _join(client)
    client.submit({"text": "hello there", "files": []}, tok, api_name="/send").result()
    status, plot, summary, people, _ = client.predict(token, api_name="/researcher_dashboard")
    assert status == "Wrong or missing token." and plot is None
    assert pid not in json.dumps([summary, people])
    files, note = client.predict(token, "CSV", api_name="/researcher_export")
    assert files is None and "token" in note.lower()


def test_researcher_with_token_sees_and_exports(served: tuple[str, Any]) -> None:
    url, _ = served
    client = _client(url)
    tok, pid = _join(client)
    client.submit({"text": "hello there", "files": []}, tok, api_name="/send").result()
    client.predict(tok, "5", "nice", api_name="/rate")
    status, plot, summary, people, _ = client.predict(TOKEN, api_name="/researcher_dashboard")
    assert "1 participants" in status and plot is not None
    assert "always-" in json.dumps(summary)  # the researcher does see the conditions
    assert pid in json.dumps(people)
    files, _ = client.predict(TOKEN, "JSONL", api_name="/researcher_export")
    lines = Path(files[0]).read_text().splitlines()
    turn = next(json.loads(x) for x in lines if json.loads(x)["record"] == "turn")
    assert (turn["participant"], turn["rating"], turn["comment"]) == (pid, 5, "nice")
    assert TOKEN not in "\n".join(lines)
