"""Study-mode test parts: a service on the real SQLite store and engine, with fake
backends and rule policies (unit scope only; test_study_browser.py runs the real ones)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


def make_service(config: StudyConfig, backends: dict[str, FakeBackend] | None = None
                 ) -> StudyService:
    """A fresh process's worth of study: new store, engine and policies on the same file."""
    store = StudyStore(config.db_path, excluded=config.attention_rule.excludes)
    policies = {"cloud-only": RulePolicy("cloud"), "local-only": RulePolicy("local")}
    backends = backends or {"local": FakeBackend("local", ["Lyon ", "is ", "pretty"], energy=3.0),
                            "cloud": FakeBackend("cloud", ["Paris ", "is ", "lovely"], cost=0.002)}
    engine = Engine(store.log, policies.__getitem__, backends.__getitem__,
                    price_usd=lambda *tokens: 0.0005)
    if config.mode == "pairwise":
        from app.study.pairwise import PairwiseService

        return PairwiseService(config, store, engine)
    return StudyService(config, store, engine)


def last(iterable: Any) -> Any:
    out = None
    for item in iterable:
        out = item
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(svc: StudyService) -> Iterator[str]:
    """The study's Blocks on 127.0.0.1 (a free port) for gradio_client; closed after."""
    from app.study.ui import StudyUI
    from tests.browser_support import launched

    with launched(StudyUI(svc).build()) as url:
        yield url


def client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False)


def join(c: Any) -> tuple[str, str]:
    """Consent through the API: (the browser's secret token, the participant id shown)."""
    import re

    out = c.predict(True, None, "", api_name="/consent")
    return out[0], re.search(r"p-[0-9a-f]{16}", out[-1]).group(0)
