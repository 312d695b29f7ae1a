"""The local backend: a small 4-bit (nf4) causal LM on this machine, streamed token by token.

The model reads only text, so attachments go through `backends.perception` first and their
description is put into the user's message. Energy is measured, not guessed: this turn's own
CPU time (perception's thread, and the generating thread with its OpenMP helpers; see
`backends.energy`) and GPU time on CUDA, times configured power.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

# Imported with the module, never inside a turn: transformers resolves names lazily, and a
# first lazy import racing another thread's (the app's warm-up loading the model) raised
# ImportError in a study run.
from transformers import StoppingCriteriaList, TextIteratorStreamer

from backends.base import Backend, StreamItem, register
from backends.config import Settings, get_settings
from backends.decoding import Decoding, StopTrimmer, decoding_for
from backends.energy import EnergyMeter, ThreadGroupClock
from backends.errors import BackendError, PromptTooLong
from backends.models import load_model, model_name, pick_device
from backends.types import Attachment, ChatRequest, Completion, Message

# Below this many tokens left for the answer, a turn is refused rather than cut to nothing.
MIN_ANSWER_TOKENS = 16

Perceive = Callable[[Attachment], str]


class InvalidRequest(BackendError):
    """The request itself cannot be answered (no messages, or it does not end with the person)."""


@dataclass
class LocalModel:
    """A loaded model, its tokenizer and the lock that serialises generation on it."""

    model: Any
    tokenizer: Any
    name: str
    lock: threading.Lock

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def context_tokens(self) -> int | None:
        return getattr(self.model.config, "max_position_embeddings", None)


_SHARED: dict[tuple[str, str, bool], LocalModel] = {}
_SHARED_LOCK = threading.Lock()
_LOCKS_GUARD = threading.Lock()


def generation_lock(model: Any) -> threading.Lock:
    """One lock per model object, so backends that share a model never generate at once."""
    with _LOCKS_GUARD:
        lock = getattr(model, "_lcio_generation_lock", None)
        if lock is None:
            lock = threading.Lock()
            model._lcio_generation_lock = lock
        return lock


def shared_model(ref: str = "", device: str = "auto", quantize: bool = True) -> LocalModel:
    """Load a model once per process and hand the same instance to every caller."""
    key = (ref, pick_device(device), quantize)
    with _SHARED_LOCK:
        if key not in _SHARED:
            model, tokenizer = load_model(ref, quantize=quantize, device=device)
            _SHARED[key] = LocalModel(model, tokenizer, model_name(ref), generation_lock(model))
        return _SHARED[key]


class _StopOnEvent:
    """A StoppingCriteria that ends generation as soon as either event is set."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        stop = any(event.is_set() for event in self.events)
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


def _default_perceive(attachment: Attachment) -> str:
    from backends.perception import attachment_to_text

    return attachment_to_text(attachment)


@register("local")
class LocalBackend(Backend):
    """Answers with the local nf4 model; safe to share between sessions (generation is locked).

    `model`/`tokenizer` may be passed in (tests, or a caller that already loaded them);
    otherwise `Settings.local_model` is loaded on first use and shared process-wide.
    `perceive` turns one attachment into text (default: `backends.perception`).
    `decoding` overrides the model family's settings from `backends.decoding`.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: Any | None = None,
        tokenizer: Any | None = None,
        model_ref: str | None = None,
        perceive: Perceive | None = None,
        decoding: Decoding | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._ref = self.settings.local_model if model_ref is None else model_ref
        self._perceive = perceive or _default_perceive
        self._decoding = decoding
        self._loaded: LocalModel | None = None
        self._load_lock = threading.Lock()
        if model is not None:
            if tokenizer is None:
                raise ValueError("Pass the tokenizer together with the model.")
            name = getattr(model, "_lcio_name", None) or model_name(
                getattr(model.config, "_name_or_path", "") or "local"
            )
            self._loaded = LocalModel(model, tokenizer, name, generation_lock(model))

    # -- model -------------------------------------------------------------------------------

    def load(self) -> LocalModel:
        """Load (or fetch the shared) model now; the app may call this at start to warm up."""
        if self._loaded is None:
            with self._load_lock:
                if self._loaded is None:
                    self._loaded = shared_model(self._resolved_ref(), self.settings.local_device)
        return self._loaded

    def _resolved_ref(self) -> str:
        """The reference to load: a packaged model's name becomes its checked file."""
        from pathlib import Path

        from backends.models import ModelUnavailable
        from backends.standin_model import StandinModelError, local_model_ref

        try:
            return local_model_ref(self._ref, Path(self.settings.cache_dir))
        except StandinModelError as exc:
            raise ModelUnavailable(str(exc)) from exc

    @property
    def model_name(self) -> str:
        return self._loaded.name if self._loaded else model_name(self._ref)

    @property
    def device(self) -> str:
        """Where the model computes ("cuda:0", "cpu"); "" before it is loaded."""
        return str(self._loaded.device) if self._loaded else ""

    @property
    def decoding(self) -> Decoding:
        """This model's decoding settings (repetition control, stop strings)."""
        return self._decoding or decoding_for(self.load().model)

    def context_window(self) -> int:
        """The configured window, never beyond what the model was trained on."""
        limit = self.load().context_tokens
        configured = self.settings.local_context_tokens
        return min(configured, limit) if limit else configured

    # -- prompt ------------------------------------------------------------------------------

    def _perceive_messages(self, messages: list[Message]) -> list[dict[str, str]]:
        """Chat-template dicts, with each attachment's description before the message text."""
        out: list[dict[str, str]] = []
        for message in messages:
            parts = [self._perceive(a) for a in message.attachments]
            text = "\n".join([*parts, message.text]) if parts else message.text
            out.append({"role": message.role, "content": text})
        return out

    def count_tokens(self, chat: list[dict[str, str]]) -> int:
        """Tokens of the templated prompt, generation prompt included."""
        return len(self._encode(chat))

    def _encode(self, chat: list[dict[str, str]]) -> list[int]:
        tokenizer = self.load().tokenizer
        ids = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        if ids and isinstance(ids[0], list):
            ids = ids[0]
        return list(ids)

    def fit_to_window(
        self, chat: list[dict[str, str]], max_new_tokens: int
    ) -> tuple[list[dict[str, str]], list[int], int, int]:
        """Drop the oldest turns until the prompt fits; keep system messages and the new turn.

        Returns (kept chat, prompt ids, tokens allowed for the answer, messages dropped).
        Raises PromptTooLong when the system messages and the new turn alone leave fewer than
        MIN_ANSWER_TOKENS for the answer.
        """
        window = self.context_window()
        # Room kept for the answer while trimming: never more than half the window, so a
        # huge max_new_tokens does not throw away the whole history.
        reserve = min(max_new_tokens, window // 2)
        system = [m for m in chat if m["role"] == "system"]
        rest = [m for m in chat if m["role"] != "system"]
        dropped = 0
        while True:
            ids = self._encode(system + rest)
            room = window - len(ids)
            if room >= reserve or len(rest) <= 1:
                break
            # Drop one whole turn: the oldest message and any replies up to the next user.
            cut = 1
            while cut < len(rest) - 1 and rest[cut]["role"] != "user":
                cut += 1
            rest = rest[cut:]
            dropped += cut
        if room < min(MIN_ANSWER_TOKENS, max_new_tokens):
            raise PromptTooLong(
                f"Your message is {len(ids)} tokens long, but the local model reads at most "
                f"{window} tokens including its answer. Shorten it, or send it to the cloud."
            )
        return system + rest, ids, min(max_new_tokens, room), dropped

    # -- generation --------------------------------------------------------------------------

    def generate_kwargs(self, request: ChatRequest, input_ids: torch.Tensor, max_new: int
                        ) -> dict[str, Any]:
        """What `generate` gets besides streaming and Stop: greedy unless the request samples,
        and the family's decoding settings. Public so that a bare `model.generate` (the speed
        benchmark, the same-answer test) runs with exactly these."""
        tokenizer = self.load().tokenizer
        do_sample = request.temperature > 0
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": max_new,
            "do_sample": do_sample,
            "pad_token_id": tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else tokenizer.eos_token_id,
        }
        if do_sample:
            kwargs["temperature"] = request.temperature
        else:  # greedy: silence the model's sampling defaults
            kwargs.update(temperature=None, top_p=None, top_k=None)
        kwargs.update(self.decoding.generate_kwargs(input_ids.shape[1], tokenizer))
        return kwargs

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Yield text deltas, then one Completion; see `Backend.stream`."""
        if not request.messages or request.messages[-1].role != "user":
            raise InvalidRequest("There is no message from you to answer.")
        loaded = self.load()
        meter = EnergyMeter(
            cpu_power_w=self.settings.cpu_power_w,
            gpu_power_w=self.settings.gpu_power_w,
            usd_per_kwh=self.settings.electricity_usd_per_kwh,
        )
        started = time.perf_counter()
        meter.start()

        chat = self._perceive_messages(request.messages)
        perception_s = time.perf_counter() - started
        meter.pause()  # this thread's CPU while perceiving; no yield happened in between
        max_new = request.max_new_tokens or self.settings.max_new_tokens
        kept, prompt_ids, max_new, dropped = self.fit_to_window(chat, max_new)
        used = _attachments_kept(request.messages, dropped)

        tokenizer = loaded.tokenizer
        device = loaded.device
        input_ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        abandon = threading.Event()  # set if the consumer walks away mid-stream
        gen_kwargs = {**self.generate_kwargs(request, input_ids, max_new), "streamer": streamer,
                      "stopping_criteria": StoppingCriteriaList([_StopOnEvent(request.stop, abandon)])}
        run = yield from _generate(loaded, gen_kwargs, streamer, abandon, StopTrimmer(self.decoding.stop),
                                   meter, started)
        latency = time.perf_counter() - started
        energy_j, cost_usd = meter.stop()
        generated = run.output[0, input_ids.shape[1] :].tolist()
        finish = _finish_reason(request, generated, _eos_ids(loaded), max_new)
        yield Completion(
            text="".join(run.pieces),
            backend=self.name,
            model=loaded.name,
            ttft_s=run.ttft_s if run.ttft_s is not None else latency,
            latency_s=latency,
            prompt_tokens=len(prompt_ids),
            completion_tokens=len(generated),
            cost_usd=cost_usd,
            energy_j=energy_j,
            perception_s=perception_s,
            finish_reason=finish,
            attachments_used=used,
        )


@dataclass
class _Run:
    """What one generation produced, besides the deltas it streamed."""

    output: Any = None
    pieces: list[str] = field(default_factory=list)
    ttft_s: float | None = None


def _generate(loaded: LocalModel, gen_kwargs: dict[str, Any], streamer: TextIteratorStreamer,
              abandon: threading.Event, trimmer: StopTrimmer, meter: EnergyMeter, started: float
              ) -> Generator[str, None, _Run]:
    """Run `generate` on a worker thread, holding the model's lock, and yield its text as it
    comes (trimmed at the family's stop strings); CPU and GPU seconds go to `meter`."""
    result: dict[str, Any] = {}

    def run() -> None:
        clock = ThreadGroupClock()  # this thread and its OpenMP team: the turn's own work
        try:
            with clock, torch.inference_mode():
                result["output"] = loaded.model.generate(**gen_kwargs)
        except BaseException as exc:  # surfaced in the consumer thread
            result["error"] = exc
            streamer.end()
        finally:
            meter.add_cpu_seconds(clock.cpu_s)

    out = _Run()
    with loaded.lock:
        on_gpu = loaded.device.type == "cuda"
        gen_started = time.perf_counter()
        thread = threading.Thread(target=run, name="lcio-local-generate", daemon=True)
        thread.start()
        try:
            for raw in itertools.chain(streamer, [None]):
                delta = trimmer.feed(raw) if raw is not None else trimmer.finish()
                if not delta:
                    continue
                if out.ttft_s is None:
                    out.ttft_s = time.perf_counter() - started
                out.pieces.append(delta)
                yield delta
        finally:
            abandon.set()  # no-op once finished; ends generation if the caller left
            thread.join()
            if on_gpu:
                torch.cuda.synchronize(loaded.device)
                meter.add_gpu_seconds(time.perf_counter() - gen_started)
    if "error" in result:
        error = result["error"]
        raise BackendError(
            f"The local model failed while answering ({type(error).__name__}). "
            "Try again, or send the turn to the cloud."
        ) from error
    out.output = result["output"]
    return out


def _finish_reason(request: ChatRequest, generated: list[int], eos: Any, max_new: int) -> str:
    """Why the answer ended: a person's Stop, the model's end token, or the length cap."""
    if request.stop.is_set():
        return "cancelled"
    if generated and generated[-1] in eos:
        return "stop"
    return "length" if len(generated) >= max_new else "stop"


def _attachments_kept(messages: list[Message], dropped: int) -> tuple[str, ...]:
    """sha256s of attachments in system messages and in non-system messages not trimmed."""
    used: list[str] = []
    seen_other = 0
    for message in messages:
        if message.role != "system":
            seen_other += 1
            if seen_other <= dropped:
                continue
        used.extend(a.sha256 for a in message.attachments)
    return tuple(used)


def _eos_ids(loaded: LocalModel) -> set[int]:
    eos = loaded.model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return ids
