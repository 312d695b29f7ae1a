"""What an attacker with a browser or gradio_client tries against a running study (issue 9,
items 1, 3, 4): download the database, act as someone whose id they saw, guess the
researcher token, flood consent. Real HTTP against the study's Blocks on 127.0.0.1."""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gradio import utils as gr_utils

from app.study.limits import ConsentLimiter, StudyLimits, TokenGate
from app.study.ui import BUSY, StudyUI, refuse_served_database
from tests.study_helpers import TOKEN, client, join, last, make_config, make_service, serving

pytestmark = pytest.mark.abuse
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "study"


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_database_next_to_task_files_cannot_be_downloaded(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(ASSETS / "cat.jpg", folder / "cat.jpg")
    (folder / "notes.txt").write_text("private notes")
    cfg = make_config(tmp_path, db_path=str(folder / "study.sqlite"), n_tasks=None,
                      tasks=[{"instructions": "Look.", "attachments": [str(folder / "cat.jpg")]}])
    svc = make_service(cfg)
    svc.consent(True)  # the file now holds a participant
    with serving(svc) as url:
        base = url + "gradio_api/file="
        assert _get(base + str(folder / "cat.jpg")) == 200  # the task file is still shown
        for name in ("study.sqlite", "notes.txt"):
            assert _get(base + str(folder / name)) == 403, name


def test_study_refuses_a_database_where_gradio_serves_files(tmp_path: Path) -> None:
    served = Path(gr_utils.get_upload_folder()) / "lcio-test-refuse"
    with pytest.raises(ValueError, match="served"):
        refuse_served_database(served / "study.sqlite")
    att = tmp_path / "cat.jpg"
    shutil.copy(ASSETS / "cat.jpg", att)
    with pytest.raises(ValueError, match="served"):  # the database is one of the task files
        refuse_served_database(att, [att])
    refuse_served_database(tmp_path / "study.sqlite", [att])  # next to it is fine


def test_participant_id_seen_on_screen_opens_nothing(tmp_path: Path) -> None:
    svc = make_service(make_config(tmp_path))
    with serving(svc) as url:
        alice, mallory = client(url), client(url)
        tok_a, pid_a = join(alice)
        alice.submit({"text": "my secret hobby is chess", "files": []}, tok_a,
                     api_name="/send").result()
        before = svc.store.turns(pid_a)
        seen = [mallory.predict(pid_a, api_name="/resume")]
        assert seen[0][2] == [] and seen[0][-1] == ""  # the consent page: no chat, no id
        job = mallory.submit({"text": "now as alice", "files": []}, pid_a, api_name="/send")
        job.result()
        seen += job.outputs()
        seen.append(mallory.predict(pid_a, "1", "bad", api_name="/rate"))
        seen.append(mallory.predict(pid_a, "1", "1", "", api_name="/questionnaire"))
        seen.append(mallory.predict(False, pid_a, "", api_name="/consent"))
        assert "chess" not in json.dumps(seen, default=str)
        assert svc.store.turns(pid_a) == before  # no turn, no rating added to Alice's
        assert svc.store.questionnaire(pid_a) == []
        # Alice's own token still works for her
        assert "chess" in json.dumps(alice.predict(tok_a, api_name="/resume"), default=str)


def test_wrong_researcher_tokens_lock_the_address_out(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, limits={"token_failures_per_ip": 5, "token_lockout_s": 60})
    svc = make_service(cfg)
    with serving(svc) as url:
        c = client(url)
        notes = [c.predict(f"guess-{i}", api_name="/researcher_dashboard")[0] for i in range(8)]
        assert notes[:4] == ["Wrong or missing token."] * 4
        assert all("Too many wrong tokens" in n for n in notes[4:]), notes  # the 5th locks
        # locked: even the right token is not compared, so a lucky guess learns nothing
        status, plot, *_ = c.predict(TOKEN, api_name="/researcher_dashboard")
        assert "Too many wrong tokens" in status and plot is None
        files, note = c.predict(TOKEN, "CSV", api_name="/researcher_export")
        assert files is None and "Too many" in note



def test_the_global_lockout_says_what_happened_to_someone_who_did_nothing(tmp_path: Path) -> None:
    """Issue 21 item 10: after wrong tokens from elsewhere lock everyone out, the researcher
    is told so (from all addresses, for everyone, for how long), not "from here"."""
    cfg = make_config(tmp_path, limits={"token_failures_per_ip": 100, "token_failures_global": 3,
                                        "token_lockout_s": 60})
    svc = make_service(cfg)
    with serving(svc) as url:
        c = client(url)
        notes = [c.predict(f"guess-{i}", api_name="/researcher_dashboard")[0] for i in range(4)]
        assert notes[:2] == ["Wrong or missing token."] * 2
        for note in notes[2:]:
            assert "from all addresses together" in note and "locked for everyone" in note, note
            assert "from here" not in note and re.search(r"try again in \d+ s", note), note
    gate_owner = StudyUI(make_service(cfg)).researcher
    for i in range(3):
        gate_owner.dashboard(f"guess-{i}", "203.0.113.9")  # a guesser elsewhere
    innocent = gate_owner.message("198.51.100.7")
    assert "from all addresses together" in innocent and "from here" not in innocent
    assert gate_owner.dashboard(TOKEN, "198.51.100.7") is None  # the documented trade-off

def test_consent_flooding_is_limited(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, limits={"consent_per_ip": 4})
    svc = make_service(cfg)
    with serving(svc) as url:
        c = client(url)
        outs = [c.predict(True, None, "", api_name="/consent") for _ in range(12)]
    made = [o for o in outs if o[0]]
    assert len(made) == 4 and len(svc.store.participants()) == 4
    assert all(o[-2] == BUSY for o in outs if not o[0])


def test_token_gate_windows_lockouts_and_global_limit() -> None:
    now = [0.0]
    limits = StudyLimits(token_failures_per_ip=3, token_failures_global=5, token_window_s=60,
                         token_lockout_s=100)
    gate = TokenGate("right", limits, clock=lambda: now[0])
    assert gate.check("right", "a")
    assert not any(gate.check("x", "a") for _ in range(3))
    assert not gate.check("right", "a") and gate.locked_for("a") == 100
    assert gate.check("right", "b")  # another address is not locked by a's failures
    now[0] = 101
    assert gate.check("right", "a")  # the lockout ends
    for _ in range(3):
        gate.check("x", "a")
    assert gate.locked_for("a") == 200  # a second lockout lasts twice as long
    assert gate.locked_for("d") == 0
    gate.check("x", "c")
    gate.check("x", "c")  # 5 failures overall in the window: everyone is locked out
    assert gate.locked_for("d") > 0 and not gate.check("right", "d")
    assert not TokenGate("", limits).check("", "a")  # no token configured: nobody


def test_consent_limiter_per_address_and_overall() -> None:
    now = [0.0]
    lim = ConsentLimiter(StudyLimits(consent_per_ip=2, consent_per_ip_window_s=10,
                                     consent_global=3, consent_global_window_s=5),
                         clock=lambda: now[0])
    assert [lim.allow("a") for _ in range(3)] == [True, True, False]
    assert [lim.allow("b"), lim.allow("c")] == [True, False]  # 3 overall in 5 s
    now[0] = 6
    assert [lim.allow("c"), lim.allow("a")] == [True, False]  # a: still 2 in its 10 s
    now[0] = 11
    assert lim.allow("a")


def test_limits_are_read_from_the_study_file(tmp_path: Path) -> None:
    from app.study.config import load_study_config

    f = tmp_path / "s.toml"
    f.write_text('conditions = [{name = "a", policy = "cloud-only"}]\n'
                 "[limits]\nconsent_per_ip = 7\ntoken_lockout_s = 30\n")
    cfg = load_study_config(f, env={})
    assert (cfg.limits.consent_per_ip, cfg.limits.token_lockout_s) == (7, 30)
    assert cfg.limits.consent_global == StudyLimits().consent_global


def test_service_layer_still_resumes_by_id_for_the_server_only(tmp_path: Path) -> None:
    """The service works on ids (server side); only the UI layer faces the network."""
    svc = make_service(make_config(tmp_path))
    ui = StudyUI(svc)
    token, *_ = ui.consent(True, None)
    pid = svc.store.participants()[0]["participant"]
    assert ui._pid(token) == pid and ui._pid(pid) is None
    last(ui.send({"text": "hello", "files": []}, token))
    assert len(svc.store.turns(pid)) == 1
