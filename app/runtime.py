"""The process-wide parts: backends, policies, the log and the engine, built from settings.

Everything heavy is shared at module level (one local model, one stand-in server, one
policy object per name) and built lazily; `warm_up()` loads them in the background at
launch so the first turn does not pay for it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from app.engine import Engine
from app.observe import policy_observation
from app.online import OnlineLearner
from app.served import refuse_served_log
from app.store import SessionStore
from backends.base import BACKENDS, Backend
from backends.config import Settings, get_settings
from backends.redact import redact_logs, redact_url, url_secrets
from policies import roster
from policies.base import ActionSpace, Policy
from policies.bench.observation import BENCH_SPACE, context_observation
from policies.bench.planner import BenchPlanner
from policies.roster import Kit

log = logging.getLogger(__name__)

# LCIO-Bench's: local or cloud, each with any subset of the slots (what the shipped policy learned)
APP_SPACE = BENCH_SPACE
OPENAI_URL = "https://api.openai.com/v1"  # what the SDK uses when no base URL is set
UNRESOLVED_MODEL = "(model not yet known)"  # until the endpoint names its model


def app_kit() -> Kit:
    """What the app builds its policies from: the shipped LCIO (if it loads) and the bench
    family's observation with LCIO's own task classifier, handed to every policy."""
    from policies.artifacts import load_app_policy

    try:
        lcio = load_app_policy()
    except Exception as exc:  # its roster entry is then left out, with the reason in the log
        log.warning("the shipped policy is unavailable: %s", exc)
        return Kit("bench", APP_SPACE)
    if not isinstance(lcio, BenchPlanner):  # the M4A1 fallback: no bench task classifier
        return Kit("bench", APP_SPACE, lcio=lcio)
    observer = partial(context_observation, classifier=lcio.classifier, space=APP_SPACE)
    return Kit("bench", APP_SPACE, observer=observer, lcio=lcio)


def policy_factories(kit: Kit | None = None) -> dict[str, Callable[[], Policy]]:
    """Policies the settings panel offers (the roster's "app" entries, LCIO first); a policy that
    cannot be built (a missing or corrupt artifact) is left out instead of stopping the app."""
    kit = kit or app_kit()
    out: dict[str, Callable[[], Policy]] = {}
    for name in roster.names("bench", "app"):
        try:
            policy = roster.build(name, kit)
        except Exception as exc:
            log.warning("policy %r unavailable: %s", name, exc)
            continue
        out[name] = lambda policy=policy: policy
    return out


class Runtime:
    """One per process: what every session shares."""

    def __init__(self, settings: Settings | None = None, log_path: str | Path | None = None,
                 policies: dict[str, Callable[[], Policy]] | None = None,
                 backends: dict[str, Backend] | None = None) -> None:
        self.settings = settings or get_settings()
        key = self.settings.openai_api_key
        redact_logs([key.get_secret_value() if key else "", *url_secrets(self.settings.openai_base_url)])
        path = (log_path or os.environ.get("LCIO_DATABASE_URL") or os.environ.get("LCIO_LOG_PATH")
                or self.settings.cache_dir / "sessions.sqlite")
        refuse_served_log(path)  # the log must never be downloadable through Gradio
        self.store = SessionStore(path)
        self._factories = policies or policy_factories()
        self._policies: dict[str, Policy] = {}
        self._backends: dict[str, Backend] = dict(backends or {})
        self._lock = threading.Lock()
        from backends.pricing import load_prices

        prices = load_prices(self.settings.price_table)

        def cloud_price(prompt_tokens: int, new_tokens: int, audio_tokens: int, image_tokens: int
                        ) -> float:
            # The backend's model, once resolved (an endpoint may name it only when asked);
            # until then the configured name, and an unknown one is priced at the default row.
            model = self.backend("cloud").model_name or self.settings.cloud_model
            return prices.worst_case_cost(model, prompt_tokens, new_tokens, audio_tokens, image_tokens)

        self.engine = Engine(self.store, self.policy, self.backend, observe=self.observe,
                             settings=self.settings, price_usd=cloud_price)
        self.learner = OnlineLearner(self.store, self.policy)  # replays the stored lessons
        self.engine.on_turn = self.learner.on_turn  # an overrule teaches like a thumbs up
        self.engine.preferences = self.learner.preferences  # weights and lessons steer decisions

    def observe(self, session, record, space: ActionSpace):
        """The session's policy builds its own observation of the turn (the contract)."""
        return policy_observation(self.policy(session.policy_name), session, record)

    @property
    def policy_names(self) -> list[str]:
        return list(self._factories)

    def policy(self, name: str) -> Policy:
        name = roster.canonical(name)
        with self._lock:
            if name not in self._policies:
                factory = self._factories.get(name) or next(iter(self._factories.values()))
                self._policies[name] = factory()
            return self._policies[name]

    def backend(self, name: str) -> Backend:
        with self._lock:
            if name not in self._backends:
                import backends.cloud  # noqa: F401  (registers "cloud")
                import backends.local  # noqa: F401  (registers "local")

                self._backends[name] = BACKENDS[name](self.settings)
            return self._backends[name]

    def models(self) -> dict[str, str]:
        """Which models answer, for the page (endpoint host:port only: never a key or login);
        `cloud_note` (stand-in only) says why the stand-in serves a fallback model, "" when not."""
        local = self.backend("local")
        cloud = self.backend("cloud")
        local_name = local.model_name or type(local).__name__
        where = "the project's stand-in on 127.0.0.1" if self.settings.uses_standin \
            else redact_url(self.settings.openai_base_url or OPENAI_URL)
        # An endpoint without LCIO_CLOUD_MODEL names its model only when first asked (warm-up
        # or the first cloud turn); until then the header says so rather than "Cloud:  via …".
        model = cloud.model_name or self.settings.cloud_model or UNRESOLVED_MODEL
        out = {"local": f"{local_name} (4-bit nf4, this machine)", "cloud": f"{model} via {where}"}
        if self.settings.uses_standin:  # e.g. "Stand-in fell back to SmolLM2-135M-Instruct: …"
            from backends.standin import note_at
            from backends.standin_model import expected_note

            out["cloud_note"] = (note_at(cloud.endpoint)
                                 or expected_note(self.settings))
        out["calibration"] = self.calibration_notice(cloud.model_name)
        return out

    def calibration_notice(self, model: str = "") -> str:
        """Which cloud the app's policy was calibrated for; a warning if not this one."""
        from app.calibration import (
            calibration_notice,
            local_notice,
            policy_calibration,
            policy_local_model,
            standin_served,
        )
        from policies import local_identity
        from policies.cloud_identity import configured

        here = configured(self.settings, model)
        if self.settings.uses_standin:
            here["served_model"] = standin_served(self.backend("cloud").endpoint,
                                                  self.settings)
        local = local_notice(policy_local_model(), local_identity.configured(self.settings))
        return f"{calibration_notice(policy_calibration(), here)} {local}"

    def warm_up(self, wait: bool = False) -> threading.Thread:
        """Load the local model and start the stand-in cloud in the background, then time both
        paths for the turn predictor (`app.predict_seed`)."""

        def run() -> None:
            try:
                local = self.backend("local")
                local.load()
                cloud = self.backend("cloud")
                cloud.load()  # builds the client; starts the stand-in when it is the cloud
            except Exception as exc:  # turns will report it in the chat
                log.warning("warm-up failed: %s", exc)
                return
            from app.predict_seed import seed_predictor

            # Each path timed on this machine, so the first turns' expectations are measured.
            seed_predictor(self.engine.predictor, {"local": local, "cloud": cloud}, self.settings)

        thread = threading.Thread(target=run, name="lcio-warm-up", daemon=True)
        thread.start()
        if wait:
            thread.join()
        return thread
