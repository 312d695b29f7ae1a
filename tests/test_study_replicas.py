"""One study, two app processes, one PostgreSQL (issue 13): balance decided in the database,
nothing lost or duplicated, and a replica killed mid-turn loses nothing committed.

Real parts throughout: a throwaway PostgreSQL server, two `python app.py` processes on
their own ports, the project's stand-in cloud as the (shared) cloud, gradio_client as the
participants. Plus SQLite-level checks of the migrations that run everywhere.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.study.store import StudyStore
from tests import postgres_support
from tests.study_helpers import client, free_port

ROOT = Path(__file__).resolve().parents[1]


def _wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@contextmanager
def _process(args: list[str], env: dict[str, str], ready_url: str, log: Path,
             timeout: float = 300) -> Iterator[subprocess.Popen]:
    """A child in its own process group, stopped (the whole group) when the block ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_http(ready_url, timeout, proc)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LCIO_", "OPENAI_"))}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               PYTHONUNBUFFERED="1", TQDM_DISABLE="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               **extra)
    return env


def _study_file(folder: Path) -> Path:
    path = folder / "study.toml"
    path.write_text(
        'name = "Replica study"\nassignment = "balanced"\nseed = 3\nn_tasks = 1\n'
        "turns_per_task = 2\nmax_new_tokens = 24\n"
        'consent = "### Consent\\n\\nTwo rated answers."\n'
        + "".join(f'[[conditions]]\nname = "arm-{c}"\npolicy = "cloud-only"\n' for c in "abc")
        + "[limits]\nconsent_per_ip = 1000\nconsent_global = 1000\n")
    return path


def _joined(job) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    out = job.result(timeout=300)
    return out[0], re.search(r"p-[0-9a-f]{16}", out[-1]).group(0)


@pytest.mark.slow
@pytest.mark.fault
@pytest.mark.skipif(not postgres_support.available(), reason="PostgreSQL is not installed")
def test_two_replicas_on_one_postgres(tmp_path: Path) -> None:
    standin_port, ports = free_port(), [free_port(), free_port()]
    study = _study_file(tmp_path)
    with postgres_support.postgres_server() as db_url, _process(
            [sys.executable, "-m", "backends.server", "--port", str(standin_port), "--delay", "4"],
            _env(), f"http://127.0.0.1:{standin_port}/v1/models", tmp_path / "standin.log"):
        env = _env(LCIO_DATABASE_URL=db_url, LCIO_STUDY_CONFIG=str(study),
                   LCIO_STUDY_TOKEN="replica-test-token-0123456789",
                   OPENAI_BASE_URL=f"http://127.0.0.1:{standin_port}/v1",
                   OPENAI_API_KEY="sk-test-replicas", LCIO_CLOUD_MODEL="lcio-standin",
                   LCIO_CACHE_DIR=str(tmp_path / "cache"))
        urls = [f"http://127.0.0.1:{p}/" for p in ports]
        with _process([sys.executable, "app.py"], {**env, "GRADIO_SERVER_PORT": str(ports[0])},
                      urls[0] + "config", tmp_path / "app-a.log") as app_a, \
             _process([sys.executable, "app.py"], {**env, "GRADIO_SERVER_PORT": str(ports[1])},
                      urls[1] + "config", tmp_path / "app-b.log"):
            # 60 participants arriving at both replicas at once (all submitted, then awaited),
            # each on a connection of its own as a browser would be (thirty events multiplexed
            # on one gradio_client stream can lose one when that stream closes and reopens)
            clients = [client(urls[i % 2]) for i in range(60)]
            jobs = [c.submit(True, None, "", api_name="/consent") for c in clients]
            joined = [_joined(j) for j in jobs]
            store = StudyStore(db_url)
            people = store.participants()
            assert len(people) == 60 and len({p["participant"] for p in people}) == 60
            assert sorted(p["seq"] for p in people) == list(range(60))  # no gap, no duplicate
            assert {pid for _, pid in joined} == {p["participant"] for p in people}
            assert len({tok for tok, _ in joined}) == 60
            assert Counter(p["conditions"] for p in people) == {"arm-a": 20, "arm-b": 20,
                                                                 "arm-c": 20}

            # one participant answers and rates a turn on A, then A dies in their second turn
            token, pid = joined[0]
            a = client(urls[0])
            a.submit({"text": "Name a colour.", "files": []}, token, api_name="/send").result()
            a.predict(token, "4", "first", api_name="/rate")
            job = a.submit({"text": "Name a fruit.", "files": []}, token, api_name="/send")
            deadline = time.time() + 60
            while not any(t["status"] == "pending" for t in store.turns(pid)):
                assert time.time() < deadline, "the second turn never started"
                time.sleep(0.2)
            os.killpg(app_a.pid, signal.SIGKILL)
            app_a.wait(10)
            del job  # its connection died with A

            # everything committed is there; B resumes the participant and the turn is redone
            turns = store.turns(pid)
            assert [(t["prompt"], t["rating"]) for t in turns] == [
                ("Name a colour.", 4), ("Name a fruit.", None)]
            assert turns[0]["status"] == "answered" and turns[0]["answer"].strip()
            b = client(urls[1])
            resumed = b.predict(token, api_name="/resume")
            assert resumed[3]["value"]["text"] == "Name a fruit."  # back in the box
            assert "not answered" in resumed[-2]
            b.submit({"text": "Name a fruit.", "files": []}, token, api_name="/send").result()
            b.predict(token, "5", "second", api_name="/rate")
            turns = store.turns(pid)
            assert [(t["status"], t["rating"]) for t in turns] == [
                ("answered", 4), ("interrupted", None), ("answered", 5)]
            log = store.log.rows()
            assert len(log) == 2 and {r["participant"] for r in log} == {pid}
            assert len(store.participants()) == 60  # the kill lost no participant
            files, _ = b.predict("replica-test-token-0123456789", "JSONL",
                                 api_name="/researcher_export")
            exported = [json.loads(x) for x in Path(files[0]).read_text().splitlines()]
            assert sum(r["record"] == "participant" for r in exported) == 60
        from app.database import dispose_all

        dispose_all()  # before the server stops


OLD_SCHEMA = [  # the study file as the code before migrations made it
    "CREATE TABLE turns (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, "
    "turn_index INTEGER NOT NULL, ts REAL NOT NULL, prompt TEXT, answer TEXT)",
    "CREATE TABLE ratings (id INTEGER PRIMARY KEY AUTOINCREMENT, turn_id INTEGER NOT NULL, "
    "session_id TEXT, ts REAL NOT NULL, thumbs INTEGER, stars INTEGER, reward REAL)",
    "CREATE TABLE participants (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, created REAL "
    "NOT NULL, consent_ts REAL NOT NULL, conditions TEXT NOT NULL, questionnaire_ts REAL)",
    "INSERT INTO participants VALUES ('p-00000000000000aa', 0, 1, 1, '[\"x\"]', NULL)",
    "INSERT INTO turns (session_id, turn_index, ts, prompt) VALUES ('s', 0, 1, 'old prompt')",
]


def test_migrations_adopt_a_database_made_before_them(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        for stmt in OLD_SCHEMA:
            db.execute(stmt)
    store = StudyStore(path)
    assert store.log.rows()[0]["prompt"] == "old prompt"  # kept, with new columns added
    assert store.log.rows()[0]["cost_usd"] is None
    pid, _ = store.create_participant(lambda seq, _p, counts: ["y"] if counts == {"x": 1} else [])
    assert store.participant(pid)["seq"] == 1  # the counter continues after the old rows
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_database_url_forms(tmp_path: Path) -> None:
    from app.database import database_url, redacted, sqlite_file

    url = database_url(tmp_path / "a" / "x.sqlite")
    assert url.startswith("sqlite:///") and sqlite_file(url) == tmp_path / "a" / "x.sqlite"
    assert database_url("postgresql://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert sqlite_file(database_url("postgresql://u@h/db")) is None
    assert "pw" not in redacted("postgresql+psycopg://u:pw@h/db")
