"""Speed benchmark of the backends: figures measured side by side in one run, printed and saved.

    python -m lab.speed [--tokens 64] [--repeats 3] [--model REF|standin] [--device auto]
                        [--skip local|stream|perception|cloud|quality] [--json PATH]

(LCIO-Bench, the routing benchmark, is `policies.bench`; this one times the backends.)
It measures, on this machine:
- local model: nf4 vs bf16 load time from the converted cache, memory footprint, time to
  first token and decoding tokens per second (runs interleaved, medians reported), and with
  `--variant-quality` each variant's score on the fixed question set (answers that degrade
  show here); `--model standin` measures the stand-in's model (Qwen when installed);
- `LocalBackend.stream` against a bare `model.generate` with the same prompt ids and decoding
  arguments, on the main thread and on a worker thread (`lab.speed_local`);
- perception for the local path: seconds per photo, text picture and spoken question;
- cloud backend: our `CloudBackend` vs a bare `openai` streaming call to the same stand-in
  server (a child process, no network delay): wall time, and the client process's CPU time,
  which isolates what our layer adds (message building, accounting, error mapping);
- quality: the local model (plain greedy, then with its decoding settings) and the stand-in
  over HTTP on `lab.quality.QUESTIONS`, scored by LCIO-Bench's rules: mean, per task and
  the share of answers that loop.

Figures vary ±30 % on a shared machine; compare the ratios, which are taken in one run.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.config import default_offline_env

default_offline_env()

from lab.speed_local import bench_streaming, print_streaming  # noqa: E402

PROMPT = "Explain in a few sentences why the sky is blue."


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench_local(
    tokens: int, repeats: int, ref: str = "", quality_tokens: int = 0, device: str = "cpu"
) -> dict[str, Any]:
    """nf4 vs bf16 of the same model: load, footprint, TTFT and tokens/s, interleaved.

    `quality_tokens` > 0 also scores each variant on the fixed question set (with the model
    family's decoding settings), to check that the faster variant answers as well.
    """
    import torch

    from backends.config import Settings
    from backends.local import LocalBackend
    from backends.models import load_model, model_name, resolve_model
    from backends.types import ChatRequest, Message

    if ref == "standin":
        from backends.standin_model import choose_standin

        ref = choose_standin().ref
    resolve_model(ref)  # convert once (not timed): both loads below read the same cache
    variants: dict[str, dict[str, Any]] = {}
    backends: dict[str, LocalBackend] = {}
    for label, quantize in (("nf4", True), ("bf16", False)):
        started = time.perf_counter()
        model, tokenizer = load_model(ref, quantize=quantize, device=device, dtype=torch.bfloat16)
        variants[label] = {
            "load_s": time.perf_counter() - started,
            "footprint_mib": model.get_memory_footprint() / 2**20,
            "ttft_s": [],
            "tokens_per_s": [],
        }
        backends[label] = LocalBackend(Settings(), model=model, tokenizer=tokenizer)
        backends[label].generate(ChatRequest([Message("user", "Hi")], max_new_tokens=4))

    for _ in range(repeats):
        for label, backend in backends.items():
            done = backend.generate(ChatRequest([Message("user", PROMPT)], max_new_tokens=tokens))
            decode_s = done.latency_s - done.ttft_s
            variants[label]["ttft_s"].append(done.ttft_s)
            if done.completion_tokens > 1 and decode_s > 0:
                variants[label]["tokens_per_s"].append((done.completion_tokens - 1) / decode_s)

    result = {
        label: {
            "load_s": v["load_s"],
            "footprint_mib": v["footprint_mib"],
            "ttft_s": _median(v["ttft_s"]),
            "tokens_per_s": _median(v["tokens_per_s"]),
        }
        for label, v in variants.items()
    }
    result["model"] = model_name(ref)
    if quality_tokens > 0:
        from lab.quality import evaluate

        for label, backend in backends.items():
            result[label]["quality"] = evaluate(backend, max_tokens=quality_tokens)
    nf4, bf16 = result["nf4"], result["bf16"]
    result["ratios"] = {
        "nf4_over_bf16_tokens_per_s": nf4["tokens_per_s"] / bf16["tokens_per_s"],
        "nf4_over_bf16_footprint": nf4["footprint_mib"] / bf16["footprint_mib"],
        "nf4_over_bf16_ttft": nf4["ttft_s"] / bf16["ttft_s"],
    }
    del backends
    gc.collect()
    return result


def bench_stream(tokens: int, repeats: int, ref: str, device: str) -> dict[str, Any]:
    """The nf4 model's stream against bare generate (see `lab.speed_local`)."""
    from backends.config import Settings
    from backends.local import LocalBackend

    if ref == "standin":
        from backends.standin_model import choose_standin

        ref = choose_standin().ref
    backend = LocalBackend(Settings(local_device=device), model_ref=ref)
    return bench_streaming(backend, tokens, repeats)


def _timed(call: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds for one call.

    The stand-in runs in a child process, so CPU time here is the client's own work: the
    figure that isolates what our layer adds, and one that a busy machine barely disturbs.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_cloud(tokens: int, repeats: int) -> dict[str, Any]:
    """Our CloudBackend against a bare openai streaming call, same server, interleaved."""
    import openai

    from backends.cloud import CloudBackend
    from backends.config import Settings
    from backends.standin import StandinServer
    from backends.types import ChatRequest, Message

    with StandinServer(Settings(), mode="subprocess", delay_s=0.0) as server:
        client = openai.OpenAI(api_key="standin", base_url=server.base_url, max_retries=0)
        model = client.models.list().data[0].id
        backend = CloudBackend(Settings(), client=client, model=model)
        messages = [{"role": "user", "content": PROMPT}]

        def bare() -> None:
            stream = client.chat.completions.create(
                model=model, messages=messages, max_tokens=tokens, temperature=0.0,
                stream=True, stream_options={"include_usage": True},
            )
            for _ in stream:
                pass

        def ours() -> None:
            backend.generate(ChatRequest([Message("user", PROMPT)], max_new_tokens=tokens))

        bare(), ours()  # warm-up: connection, server-side model
        runs: dict[str, list[tuple[float, float]]] = {"bare": [], "ours": []}
        for _ in range(repeats):
            runs["bare"].append(_timed(bare))
            runs["ours"].append(_timed(ours))
    wall = {k: _median([w for w, _ in v]) for k, v in runs.items()}
    cpu = {k: _median([c for _, c in v]) for k, v in runs.items()}
    return {
        "model": model,
        "bare_openai_wall_s": wall["bare"],
        "cloud_backend_wall_s": wall["ours"],
        "bare_openai_client_cpu_ms": cpu["bare"] * 1000,
        "cloud_backend_client_cpu_ms": cpu["ours"] * 1000,
        "overhead_client_cpu_ms": (cpu["ours"] - cpu["bare"]) * 1000,
        "ratios": {
            "cloud_backend_over_bare_openai_wall": wall["ours"] / wall["bare"],
            "cloud_backend_over_bare_openai_client_cpu": cpu["ours"] / cpu["bare"],
        },
    }


def bench_quality(tokens: int) -> dict[str, Any]:
    """Local (plain greedy, then its decoding settings) vs the stand-in over HTTP, same questions.

    The stand-in is the default one, in a child process, reached through `CloudBackend`
    (the real `openai` client); its own decoding settings apply on the server.
    """
    import openai

    from backends.cloud import CloudBackend
    from backends.config import Settings
    from backends.decoding import PLAIN
    from backends.local import LocalBackend
    from backends.standin import StandinServer
    from lab.quality import evaluate

    settings = Settings()
    tuned = LocalBackend(settings)
    plain = LocalBackend(settings, decoding=PLAIN)
    out: dict[str, Any] = {"max_tokens": tokens, "local": {
        "model": tuned.load().name,
        "decoding": tuned.decoding.family,
        "plain": evaluate(plain, max_tokens=tokens),
        "tuned": evaluate(tuned, max_tokens=tokens),
    }}
    with StandinServer(settings, mode="subprocess", delay_s=0.0) as server:
        client = openai.OpenAI(api_key="standin", base_url=server.base_url, max_retries=0)
        listed = client.models.list().data[0]
        extra = listed.model_extra or {}
        cloud = CloudBackend(settings, client=client, model=listed.id)
        out["standin"] = {"model": str(extra.get("root", listed.id)), "note": extra.get("note", ""),
                          "tuned": evaluate(cloud, max_tokens=tokens)}
    return out


def bench_perception() -> dict[str, float]:
    """Seconds to turn one attachment into text for the local path, uncached, models warm."""
    import tempfile

    from backends.perception import PerceptionCache, attachment_to_text
    from backends.types import Attachment
    from lab.samples import sample_photo, sample_speech, sample_text_picture

    makers = {"photo_s": sample_photo, "text_picture_s": sample_text_picture,
              "speech_s": sample_speech}
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, make in makers.items():
            attachment = Attachment.from_path(make(Path(folder)))
            attachment_to_text(attachment, PerceptionCache(None))  # loads the model
            started = time.perf_counter()
            attachment_to_text(attachment, PerceptionCache(None))  # memory-only: recomputes
            out[label] = time.perf_counter() - started
    return out


def _print(results: dict[str, Any]) -> None:
    local, cloud = results.get("local"), results.get("cloud")
    if local:
        print(f"local model on {results['device']}")
        print(f"{'variant':<14}{'load s':>9}{'MiB':>9}{'TTFT s':>9}{'tok/s':>9}")
        for label in ("nf4", "bf16"):
            v = local[label]
            print(f"{label:<14}{v['load_s']:>9.2f}{v['footprint_mib']:>9.1f}"
                  f"{v['ttft_s']:>9.3f}{v['tokens_per_s']:>9.1f}")
        for name, value in local["ratios"].items():
            print(f"  {name} = {value:.2f}")
        for label in ("nf4", "bf16"):
            if "quality" in local[label]:
                q = local[label]["quality"]
                print(f"  {label} quality: mean {q['mean']:.3f}, loops {q['loop_share']:.0%}")
    if results.get("perception"):
        print("perception, uncached: " + ", ".join(
            f"{k.removesuffix('_s')} {v:.2f} s" for k, v in results["perception"].items()))
    quality = results.get("quality")
    if quality:
        print(f"quality ({quality['max_tokens']} tokens max){'mean':>8}{'loops':>7}  per task")
        for side, label in (("local", "plain"), ("local", "tuned"), ("standin", "tuned")):
            v = quality[side][label]
            tasks = " ".join(f"{k}={s:.2f}" for k, s in v["per_task"].items())
            print(f"{side + ' ' + label:<24}{v['mean']:>8.3f}{v['loop_share']:>7.0%}  {tasks}")
        if quality["standin"].get("note"):
            print(f"  note: {quality['standin']['note']}")
    if cloud:
        print(f"cloud ({cloud['model']}){'wall s':>12}{'client CPU ms':>15}")
        print(f"{'bare openai':<22}{cloud['bare_openai_wall_s']:>12.3f}"
              f"{cloud['bare_openai_client_cpu_ms']:>15.1f}")
        print(f"{'CloudBackend':<22}{cloud['cloud_backend_wall_s']:>12.3f}"
              f"{cloud['cloud_backend_client_cpu_ms']:>15.1f}")
        for name, value in cloud["ratios"].items():
            print(f"  {name} = {value:.3f}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per generation")
    parser.add_argument("--repeats", type=int, default=3, help="measured runs per variant")
    parser.add_argument("--model", default="",
                        help="local model reference (default: embedded); 'standin' = the stand-in's")
    parser.add_argument("--quality-tokens", type=int, default=96,
                        help="answer cap for the quality questions (each task has its own length)")
    parser.add_argument("--variant-quality", action="store_true",
                        help="also score the nf4 and bf16 variants on the question set")
    parser.add_argument("--skip", choices=["local", "stream", "perception", "cloud", "quality"],
                        action="append",
                        default=[])
    parser.add_argument("--device", default="auto",
                        help="where the local model runs: auto (CUDA when present), cpu or cuda")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from backends.models import pick_device

    device = pick_device(args.device)
    results: dict[str, Any] = {"torch_threads": torch.get_num_threads(), "device": device,
                               "tokens": args.tokens, "repeats": args.repeats}
    if "local" not in args.skip:
        results["local"] = bench_local(args.tokens, args.repeats, args.model,
                                       args.quality_tokens if args.variant_quality else 0, device)
    if "stream" not in args.skip:
        results["stream"] = bench_stream(args.tokens, max(args.repeats, 5), args.model, device)
    if "perception" not in args.skip:
        results["perception"] = bench_perception()
    if "cloud" not in args.skip:
        results["cloud"] = bench_cloud(args.tokens, args.repeats)
    if "quality" not in args.skip:
        results["quality"] = bench_quality(args.quality_tokens)
    _print(results)
    if results.get("stream"):
        print_streaming(results["stream"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
