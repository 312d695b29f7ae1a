"""Sessions cost nothing to open (issue 21, item 4): many sessions from one client, each
rating the same answer down (and each claiming another address in X-Forwarded-For), must
move what a fresh session decides with by no more than one rater can, 2·bound / (1 +
prior_k) on the 0–2 scale. Real `python app.py` through
gradio_client (the fresh session reads its own decision from its own export), and the
learner on its database: the pooling by address survives a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.database import dispose_all
from app.online import rater_of
from app.session import BudgetLedger, Session
from policies.preferences import ShrinkConfig
from tests.browser_support import short_answer_app
from tests.test_ratings_persist import ROOMY, _app, _turn, shipped  # noqa: F401 (fixture)

pytestmark = pytest.mark.abuse
PROMPT = "write a message to my mom"
SESSIONS = 8  # one client, eight sessions: 8·0.5/28 = 0.143 on the 0–2 scale per session


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with short_answer_app(tmp_path_factory) as (url, _log):
        yield url


def _client(url: str, forwarded: str | None = None) -> Any:
    """A new client is a new session on the page; `forwarded`: the X-Forwarded-For it sends."""
    from gradio_client import Client

    headers = {"X-Forwarded-For": forwarded} if forwarded else None
    return Client(url, verbose=False, headers=headers)


def _offsets_of_a_fresh_session(url: str) -> np.ndarray:
    """What a session that never rated decides with for PROMPT (the policy's units)."""
    fresh = _client(url)
    fresh.predict({"text": PROMPT, "files": []}, api_name="/chat")
    path = fresh.predict("JSONL", api_name="/export")
    row = json.loads(Path(path).read_text(encoding="utf-8").splitlines()[-1])
    decision = row["decision"] if isinstance(row["decision"], dict) else json.loads(row["decision"])
    return np.asarray(decision["rating_offsets"], dtype=float)


def test_many_sessions_of_one_client_move_the_shared_prior_as_one_rater(app: str) -> None:
    from policies.artifacts import load_app_policy

    before = _offsets_of_a_fresh_session(app)
    taught = []
    for i in range(SESSIONS):  # each also claims another address: the header picks nothing
        attacker = _client(app, f"198.51.100.{i}")
        answer, decision = attacker.predict({"text": PROMPT, "files": []}, api_name="/chat")
        assert decision["status"] == "answered", decision
        taught.append(attacker.predict("1", api_name="/rate")[0])
    assert all("learned from your rating" in note for note in taught), taught
    moved = float(np.abs(_offsets_of_a_fresh_session(app) - before).max())
    cfg, scale = ShrinkConfig(), load_app_policy().rating_scale
    bound = 2 * cfg.bound / (1 + cfg.prior_k)  # 0.048 on the 0–2 scale
    print(f"{SESSIONS} sessions of one client moved a fresh session's offset by "
          f"{moved / scale:.4f} on the 0–2 scale ({moved:.4f} in the policy's units)")
    assert 0 < moved <= bound * scale + 1e-9, f"{moved / scale:.4f} > {bound:.4f} (0–2 scale)"


def test_the_address_is_stored_as_a_hash_and_pools_after_a_restart(tmp_path: Path,
                                                                    shipped) -> None:  # noqa: F811
    db = tmp_path / "log.sqlite"
    engine, learner = _app(db, shipped)
    for _ in range(SESSIONS):
        session = Session(policy_name="lcio-lookahead", ledger=BudgetLedger(limit=ROOMY),
                          client="198.51.100.7")
        record = _turn(engine, session)
        assert "learned" in learner.rate(session, record.turn_id, -1, None)
    obs = np.asarray(record.observation, dtype=np.float32)
    fresh = Session(policy_name="lcio-lookahead")
    moved = np.abs(learner.preferences(fresh, shipped, obs).quality_offsets).max()
    cfg = learner.config
    assert 0 < moved <= 2 * cfg.bound / (1 + cfg.prior_k) * shipped.rating_scale + 1e-12
    raters = {row["rater"] for row in learner.lessons.since()}
    assert raters == {rater_of(session)} and "198.51.100.7" not in next(iter(raters))
    dispose_all()  # a restart replays the lessons with their rater
    _, again = _app(db, shipped)
    assert np.abs(again.preferences(fresh, shipped, obs).quality_offsets).max() == \
        pytest.approx(moved)
    assert rater_of(Session()) == "", "no address known: the session is its own rater"
