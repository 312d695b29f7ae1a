"""One person, one participation (issue 21, item 5): consents that carry a panel id already
in the study are refused with the screen-out code by default, or admitted and flagged when
the study says so; either way the researcher sees them, in the view and the export. The id
is not a secret and opens nothing. The rule is decided in the database, so it holds across
replicas (two stores on one SQLite file, and two on one PostgreSQL server)."""

from __future__ import annotations

import csv
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from app.study.researcher import PARTICIPANT_COLUMNS
from tests import postgres_support
from tests.study_helpers import TOKEN, client, make_config, make_service, serving

pytestmark = pytest.mark.abuse
RECRUIT = {"screen_out_code": "SCREENED", "completion_code": "C0MPLETE",
           "screen_out_url": "https://panel.example/complete?cc={code}"}
PANEL = "?PROLIFIC_PID=5f0c2aPID&STUDY_ID=S1&SESSION_ID=se-{n}"


def _consent(url: str, n: int, pid: str = "5f0c2aPID") -> tuple[Any, ...]:
    """A fresh browser arriving from the panel's link with the PROLIFIC_PID `pid`."""
    query = PANEL.replace("5f0c2aPID", pid).format(n=n)
    return client(url).predict(True, None, query, api_name="/consent")


def _csv(files: list[str], name: str) -> list[dict[str, str]]:
    path = next(Path(f) for f in files if Path(f).name == name)
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_a_repeat_is_refused_with_the_screen_out_code(tmp_path: Path) -> None:
    svc = make_service(make_config(tmp_path, recruitment=RECRUIT))
    with serving(svc) as url:
        outs = [_consent(url, n) for n in range(2)] + [_consent(url, 2, " 5f0c2aPID ")]
        researcher = client(url)
        status = researcher.predict(TOKEN, api_name="/researcher_dashboard")[0]
        files, _ = researcher.predict(TOKEN, "CSV", api_name="/researcher_export")
    first, *again = outs
    assert first[0] and len(svc.store.participants()) == 1
    for out in again:
        assert not out[0], "no browser token: nobody was made"
        assert "SCREENED" in out[-4] and out[-3] == "https://panel.example/complete?cc=SCREENED"
        assert "p-" not in out[-1], "no participant id is shown"
    assert "2 repeat consents refused" in status
    repeats = _csv(files, "study-repeats.csv")
    pid = svc.store.participants()[0]["participant"]
    assert [(r["external_id"], r["first_participant"], r["participant"], r["decision"])
            for r in repeats] == [("5f0c2aPID", pid, "", "refused")] * 2
    assert json.loads(Path(next(f for f in files if f.endswith("study.json"))).read_text())[
        "repeat_participants"] == "refuse"


def test_flag_admits_a_repeat_and_marks_it_but_opens_nothing(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, recruitment={**RECRUIT, "repeat_participants": "flag"})
    svc = make_service(cfg)
    with serving(svc) as url:
        first = _consent(url, 0)
        client(url).submit({"text": "my secret hobby is chess", "files": []}, first[0],
                           api_name="/send").result()
        again = [_consent(url, n) for n in (1, 2)]
        other = _consent(url, 3, "another-panel-id")
        researcher = client(url)
        table = researcher.predict(TOKEN, api_name="/researcher_dashboard")[-2]  # participants
        files, _ = researcher.predict(TOKEN, "CSV", api_name="/researcher_export")
    assert all(out[0] for out in [first, *again, other]) and len(svc.store.participants()) == 4
    assert "chess" not in json.dumps(again, default=str), "the id opens nothing of the first"
    people = sorted(svc.store.participants(), key=lambda p: p["seq"])
    first_pid = people[0]["participant"]
    assert [p["repeat_of"] for p in people] == [None, first_pid, first_pid, None]
    rows = {r[0]: dict(zip(PARTICIPANT_COLUMNS, r, strict=True)) for r in table["value"]["data"]}
    assert [rows[p["participant"]]["repeat_of"] for p in people] == [None, first_pid, first_pid,
                                                                      None]
    exported = _csv(files, "study-participants.csv")
    assert sorted(r["repeat_of"] for r in exported) == ["", "", first_pid, first_pid]
    assert [r["decision"] for r in _csv(files, "study-repeats.csv")] == ["admitted"] * 2


def _race(services: list[Any], n: int = 8) -> list[str | None]:
    """`n` consents with one panel id at once, spread over the services (replicas)."""
    def arrive(i: int) -> str | None:
        svc = services[i % len(services)]
        return svc.consent(True, recruited={"external_id": "same-person"}).participant

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(arrive, range(n)))


def test_replicas_on_one_sqlite_file_admit_one(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    services = [make_service(cfg), make_service(cfg)]
    made = [p for p in _race(services) if p]
    assert len(made) == 1 and len(services[0].store.participants()) == 1
    assert len(services[1].store.repeats()) == 7


@pytest.mark.slow
@pytest.mark.skipif(not postgres_support.available(), reason="PostgreSQL is not installed")
def test_replicas_on_one_postgres_admit_one(tmp_path: Path) -> None:
    from app.database import dispose_all
    from app.study.service import StudyService
    from app.study.store import StudyStore
    from tests.study_helpers import make_service as one_service

    cfg = make_config(tmp_path)
    with postgres_support.postgres_server() as url:
        try:
            base = one_service(cfg)
            services = [StudyService(cfg, StudyStore(url), base.engine) for _ in range(2)]
            made = [p for p in _race(services, 12) if p]
            assert len(made) == 1 and len(services[0].store.participants()) == 1
            assert [r["decision"] for r in services[1].store.repeats()] == ["refused"] * 11
        finally:
            dispose_all()
