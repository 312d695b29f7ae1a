"""The page says which cloud the app's policy was calibrated for, and warns when the
configured cloud is another one (a different model or host; never showing a login)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.calibration import active_policy_path, calibration_notice, policy_calibration
from app.ui import ChatUI
from backends.config import Settings
from policies.artifacts import APP_POLICY_PATH, BENCH_PATH
from policies.cloud_identity import configured, from_header, same_cloud
from tests.test_app_engine import FakeBackend, RulePolicy


@pytest.fixture(autouse=True)
def no_configured_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LCIO_OPENAI_API_KEY",
                 "LCIO_OPENAI_BASE_URL", "LCIO_CLOUD_MODEL"):
        monkeypatch.delenv(name, raising=False)


ACME = {"kind": "openai-compatible", "model": "acme-mini", "endpoint": "api.acme.test",
        "date": "2026-11-26"}


def test_the_shipped_policy_was_calibrated_for_the_stand_in() -> None:
    assert active_policy_path() == APP_POLICY_PATH
    shipped = policy_calibration()
    assert shipped is not None and shipped["kind"] == "standin"
    assert shipped["model"] == "lcio-standin"
    # what the policy's own dataset was measured on
    trained_on = json.loads(APP_POLICY_PATH.read_text(encoding="utf-8"))["trained_on"]["dataset"]
    with (BENCH_PATH.parent / trained_on).open(encoding="utf-8") as handle:
        header = json.loads(handle.readline())
    # the cloud as the dataset names it; a policy trained since also records its local model
    assert {k: v for k, v in shipped.items() if k != "local"} == from_header(header)
    notice = calibration_notice(shipped, configured(Settings()))
    assert notice.startswith("Policy calibrated for this cloud: the project's stand-in")
    assert shipped["date"] in notice and "⚠️" not in notice


def test_another_cloud_is_warned_about_with_the_fix() -> None:
    openai = Settings(openai_api_key="sk-x-123456")  # gpt-4o-mini at api.openai.com
    notice = calibration_notice(policy_calibration(), configured(openai))
    assert notice.startswith("⚠️ Policy calibrated for the project's stand-in")
    assert "gpt-4o-mini via api.openai.com" in notice
    assert "python -m lab.calibrate" in notice


@pytest.mark.parametrize(("model", "url", "same"), [
    ("acme-mini", "https://api.acme.test/v1", True),
    ("ACME-mini", "https://api.acme.test/v2/", True),  # letter case and path do not matter
    ("acme-large", "https://api.acme.test/v1", False),  # another model
    ("acme-mini", "https://eu.acme.test/v1", False),  # another host
    ("acme-mini", "https://api.acme.test:8443/v1", False),  # another port
    ("", "https://api.acme.test/v1", True),  # not resolved yet: the host decides
])
def test_same_cloud_means_same_model_and_host(model: str, url: str, same: bool) -> None:
    here = configured(Settings(openai_api_key="k-123456", openai_base_url=url, cloud_model=model))
    assert same_cloud(ACME, here) is same
    assert ("⚠️" in calibration_notice(ACME, here)) is (not same)


def test_a_stand_in_serving_another_model_is_another_cloud() -> None:
    old = {"kind": "standin", "model": "lcio-standin", "endpoint": "127.0.0.1",
           "served_model": "SmolLM2-135M-Instruct (full precision)"}
    assert same_cloud(old, {**old, "served_model": "SmolLM2-135M-Instruct"})
    assert same_cloud(old, {**old, "served_model": ""})  # not known (not started): no warning
    assert not same_cloud(old, {**old, "served_model": "Qwen2.5-Coder-0.5B-Instruct"})
    assert not same_cloud(old, ACME)


def test_the_notice_never_shows_a_login_and_says_so_when_unrecorded(tmp_path: Path) -> None:
    here = configured(Settings(openai_api_key="k-123456", cloud_model="m",
                               openai_base_url="http://user:hunter2secret@10.0.0.5:9000/v1"))
    notice = calibration_notice(ACME, here)
    assert "10.0.0.5:9000" in notice and "hunter2" not in notice and "user" not in notice
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"version": 1}))
    assert policy_calibration(old) is None and policy_calibration(tmp_path / "none.json") is None
    assert "not recorded" in calibration_notice(None, here)


def test_the_page_header_shows_the_runtimes_notice(tmp_path: Path) -> None:
    from app.runtime import Runtime

    settings = Settings(openai_api_key="k-123456", openai_base_url="http://127.0.0.1:9/v1",
                        cloud_model="acme-mini")
    runtime = Runtime(settings, log_path=tmp_path / "log.sqlite", policies={"rule": RulePolicy},
                      backends={"local": FakeBackend("local", ["hi"]),
                                "cloud": FakeBackend("cloud", ["yo"])})
    models = runtime.models()
    assert models["calibration"].startswith("⚠️ Policy calibrated for the project's stand-in")
    assert "acme-mini via 127.0.0.1:9" in models["calibration"]
    line = ChatUI(runtime.engine, models, runtime.policy_names)._models_line()
    assert "Policy calibrated for the project" in line and "python -m lab.calibrate" in line


def test_the_stand_in_names_the_model_it_serves_before_it_runs(tmp_path: Path) -> None:
    from app.calibration import standin_served
    from backends.models import EMBEDDED_MODEL_NAME

    gguf = tmp_path / "Other-Model-1B.Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF")
    assert standin_served(None, Settings(standin_model=str(gguf))) == "Other-Model-1B.Q4_K_M"
    served = standin_served("the stand-in (not started yet)", Settings())
    assert served in ("Qwen2.5-Coder-0.5B-Instruct", EMBEDDED_MODEL_NAME)
    shipped = policy_calibration()
    assert shipped is not None
    other = {**configured(Settings()), "served_model": "Other-Model-1B.Q4_K_M"}
    assert "⚠️" in calibration_notice(shipped, other)  # another stand-in model: refit
