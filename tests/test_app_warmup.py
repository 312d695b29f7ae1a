"""A first turn while the app is still warming up must answer, not fail.

Run in a fresh interpreter: the race it guards against (transformers' lazy imports in the
turn's thread and in the warm-up thread at once, which raised ImportError) can only happen
before transformers has been imported, which in this test process it already has.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser_support import small_standin_env

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
from app.runtime import Runtime
from app.session import Session
runtime = Runtime(log_path={log!r})
runtime.warm_up()  # background: loads the local model, starts the stand-in
session = Session(policy_name="local-only")
for event in runtime.engine.run(session, "What animal is in this picture?",
                                [{image!r}], max_new_tokens=8):
    pass
print("STATUS", event.record.status, event.record.error)
"""


@pytest.mark.slow
def test_first_local_turn_during_warm_up_is_answered(tmp_path: Path) -> None:
    script = SCRIPT.format(log=str(tmp_path / "log.sqlite"),
                           image=str(ROOT / "assets" / "study" / "cat.jpg"))
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "LCIO_STANDIN_PORT": "0", **small_standin_env()}
    env.pop("OPENAI_API_KEY", None), env.pop("OPENAI_BASE_URL", None)
    out = tmp_path / "out.txt"
    with out.open("w") as sink:  # a file, not a pipe: the stand-in child must not hold it
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=sink,
                       stderr=subprocess.STDOUT, timeout=400)
    text = out.read_text()
    status = [line for line in text.splitlines() if line.startswith("STATUS")]
    assert status == ["STATUS answered "], text[-4000:]
