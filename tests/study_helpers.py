"""Study-mode test parts: a service on the real SQLite store and engine, with fake
backends and rule policies (unit scope only; test_study_browser.py runs the real ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.engine import Engine
from app.study.config import StudyConfig
from app.study.service import StudyService
from app.study.store import StudyStore
from tests.test_app_engine import FakeBackend, RulePolicy

# Words a blind participant must never receive (model, location, money, decision fields).
FORBIDDEN = ["local", "cloud", "-model", "$", "usd", "cost", "latency", "decision",
             "probability", "policy", "energy", "always-", "cond-"]
TOKEN = "s3cret-researcher-token-0123456789"


def make_config(tmp_path: Path, **over: Any) -> StudyConfig:
    data: dict[str, Any] = {
        "name": "Test study",
        "conditions": [{"name": "always-cloud", "policy": "cloud-only"},
                       {"name": "always-local", "policy": "local-only"}],
        "assignment": "balanced", "n_tasks": 1, "turns_per_task": 2, "seed": 1,
        "db_path": str(tmp_path / "study.sqlite"), "token": TOKEN,
    }
    data.update(over)
    return StudyConfig.model_validate(data)


def make_service(config: StudyConfig) -> StudyService:
    """A fresh process's worth of study: new store, engine and policies on the same file."""
    store = StudyStore(config.db_path)
    policies = {"cloud-only": RulePolicy("cloud"), "local-only": RulePolicy("local")}
    backends = {"local": FakeBackend("local", ["Lyon ", "is ", "pretty"], energy=3.0),
                "cloud": FakeBackend("cloud", ["Paris ", "is ", "lovely"], cost=0.002)}
    engine = Engine(store.log, policies.__getitem__, backends.__getitem__,
                    price_usd=lambda *tokens: 0.0005)
    return StudyService(config, store, engine)


def last(iterable: Any) -> Any:
    out = None
    for item in iterable:
        out = item
    return out
