"""A provider for calibration tests: the real stand-in server over HTTP, posing as another
provider ("acme-mini", a key required) whose price table is not the project's.

`provider_server` serves it (a model id of its own, so the run names a cloud that is not the
stand-in), `provider_env` points the process's settings at it, `pinned_prices` writes the
other price table.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backends.config import Settings
from backends.standin import StandinServer

MODEL = "acme-mini"
KEY = "sk-acme-test-0123456789abcdef"
ASSETS = Path(__file__).resolve().parent.parent / "assets"
ACME_ROW = {"input": 3.0, "output": 12.0}  # 20x the stand-in's row: another provider's bill


def acme_prices(folder: Path) -> Path:
    """The project's table plus an "acme-mini" row (its other rows are never used here)."""
    table = json.loads((ASSETS / "prices.json").read_text(encoding="utf-8"))
    table["models"][MODEL] = ACME_ROW
    path = folder / "acme-prices.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    return path


@contextlib.contextmanager
def provider_server(backend: Any = None, **settings: Any) -> Iterator[StandinServer]:
    """The stand-in (thread mode) answering as model `MODEL`, behind the key `KEY`."""
    import backends.server as server_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server_module, "create_app",
                      functools.partial(server_module.create_app, model_id=MODEL))
        values: dict[str, Any] = {"standin_delay_s": 0.0, **settings}
        with StandinServer(Settings(**values), backend=backend, api_key=KEY) as running:
            yield running


def provider_env(monkeypatch: pytest.MonkeyPatch, server: StandinServer, prices: Path,
                 key: str = KEY) -> None:
    """Environment that makes `Settings()` name the provider, as a user would set it."""
    for name in ("LCIO_OPENAI_API_KEY", "LCIO_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("LCIO_CLOUD_MODEL", MODEL)
    monkeypatch.setenv("LCIO_PRICE_TABLE", str(prices))
    monkeypatch.setenv("LCIO_CLOUD_MAX_RETRIES", "0")
    monkeypatch.setenv("LCIO_CLOUD_TIMEOUT_S", "120")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
