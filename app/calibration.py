"""The page's line about the policy's cloud: which cloud the active policy was calibrated
for (model, endpoint host, date), and a warning when the configured cloud is another one.

The policy's cloud quality and cost estimates were learned on one cloud (its file's
``calibrated_for``, written by `lab.train` from the dataset's header); pointed at
another, they are wrong, and `python -m lab.calibrate` refits them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
