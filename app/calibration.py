"""The page's line about the policy's two models: which cloud the active policy was
calibrated for (model, endpoint host, date) and which local model, with a warning when the
configured cloud or local model (`LCIO_LOCAL_MODEL`) is another one.

The policy's cloud quality and cost estimates were learned on one cloud (its file's
``calibrated_for``, written by `lab.train` from the dataset's header); pointed at
another, they are wrong, and `python -m lab.calibrate` refits them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policies import local_identity
from policies.cloud_identity import describe, same_cloud

COMMAND = "python -m lab.calibrate"


def active_policy_path() -> Path:
    """The file `policies.artifacts.load_app_policy()` loads by default."""
    from policies.artifacts import APP_POLICY_PATH, M4A1_POLICY_PATH

    return APP_POLICY_PATH if APP_POLICY_PATH.exists() else M4A1_POLICY_PATH


def policy_calibration(path: str | Path | None = None) -> dict[str, Any] | None:
    """The policy file's ``calibrated_for`` (None when missing or unreadable)."""
    try:
        doc = json.loads(Path(path or active_policy_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = doc.get("calibrated_for") if isinstance(doc, dict) else None
    return found if isinstance(found, dict) else None


def policy_local_model(path: str | Path | None = None) -> dict[str, Any] | None:
    """The local model the policy's dataset was measured with: its ``calibrated_for.local``,
    else (a policy trained before that was recorded) its training dataset's header."""
    from policies.artifacts import BENCH_PATH

    source = Path(path or active_policy_path())
    try:
        doc = json.loads(source.read_text(encoding="utf-8"))
        local = (doc.get("calibrated_for") or {}).get("local")
        if isinstance(local, dict):
            return local
        dataset = BENCH_PATH.parent / Path(str(doc["trained_on"]["dataset"])).name
        with dataset.open(encoding="utf-8") as handle:
            return local_identity.from_header(json.loads(handle.readline()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def local_notice(calibrated: Mapping[str, Any] | None, configured: Mapping[str, Any]) -> str:
    """One sentence on the local side (plain text)."""
    here = local_identity.describe(configured)
    if calibrated is None:
        return (f"Local model {here}: the one the policy was calibrated for is not recorded; "
                f"`{COMMAND}` measures it.")
    if local_identity.same_local(calibrated, configured):
        return f"Local model calibrated for: {here}."
    return (f"⚠️ Local model calibrated for {local_identity.describe(calibrated)}, but the "
            f"configured one is {here}: its local quality, time and energy estimates may be "
            f"wrong. Run `{COMMAND}` to measure it (docs/calibration.md).")


def standin_served(endpoint: str | None, settings: Any) -> str:
    """The model the stand-in serves: its /health "root" when it answers, else the one it
    will load (`LCIO_STANDIN_MODEL`, else the first registry model whose parts are there,
    else SmolLM2)."""
    from backends.standin import probe
    from backends.standin_model import expected_name_and_note

    if endpoint and " " not in endpoint:
        root = endpoint if "://" in endpoint else f"http://{endpoint}"
        data = probe(root.rstrip("/").removesuffix("/v1"), timeout_s=0.5) or {}
        if data.get("root"):
            return str(data["root"])
    return expected_name_and_note(settings)[0]


def calibration_notice(calibrated: Mapping[str, Any] | None, configured: Mapping[str, Any]) -> str:
    """One line (plain text: the page shows it through `safe_markdown`)."""
    if calibrated is None:
        return (f"Policy: the cloud it was calibrated for is not recorded; `{COMMAND}` fits it "
                "to the configured cloud.")
    date = calibrated.get("date")
    what = describe(calibrated) + (f", measured {date}" if date else "")
    if same_cloud(calibrated, configured):
        return f"Policy calibrated for this cloud: {what}."
    return (f"⚠️ Policy calibrated for {what}, but the configured cloud is "
            f"{describe(configured)}: its cloud quality and cost estimates may be wrong. "
            f"Run `{COMMAND}` to fit it to this cloud (docs/calibration.md).")
