"""Answer the probe with one model as the app prompts it, and time a 64-token reply.

The prompt is the app's: its system prompt (`Settings.system_prompt`) and the user's question
through the model's own chat template; decoding is greedy with the family's settings
(`backends.decoding.decoding_for`). Questions are answered in small left-padded batches,
which on a CPU costs little more per step than one question; the speed figures come from a
separate single-prompt run that is made to write exactly 64 tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from lab.probe.items import ProbeItem

SPEED_PROMPT = "Explain in a few sentences why the sky is blue."
SPEED_TOKENS = 64


def chat(system: str, question: str) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": question}]


def _prompt_text(tokenizer: Any, system: str, question: str) -> str:
    text = tokenizer.apply_chat_template(chat(system, question), add_generation_prompt=True,
                                         tokenize=False)
    return str(text)


def answer_batches(model: Any, tokenizer: Any, items: Sequence[ProbeItem], system: str,
                   max_new_tokens: int, batch_size: int) -> Iterator[tuple[ProbeItem, str, int]]:
    """Yield (item, answer text, new tokens) for each item, a batch at a time (greedy)."""
    import torch

    from backends.decoding import StopTrimmer, decoding_for

    decoding = decoding_for(model)
    tokenizer.padding_side = "left"
    for start in range(0, len(items), batch_size):
        batch = list(items[start:start + batch_size])
        texts = [_prompt_text(tokenizer, system, item.question) for item in batch]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        length = encoded["input_ids"].shape[1]
        kwargs = dict(encoded, max_new_tokens=max_new_tokens, do_sample=False, temperature=None,
                      top_p=None, top_k=None, pad_token_id=tokenizer.pad_token_id)
        kwargs.update(decoding.generate_kwargs(length, tokenizer))
        with torch.inference_mode():
            out = model.generate(**kwargs)
        for item, row in zip(batch, out[:, length:], strict=True):
            ids = [int(t) for t in row if int(t) != tokenizer.pad_token_id]
            text = tokenizer.decode(ids, skip_special_tokens=True)
            trimmer = StopTrimmer(decoding.stop)
            yield item, (trimmer.feed(text) + trimmer.finish()).strip(), len(ids)


def time_reply(model: Any, tokenizer: Any, system: str, tokens: int = SPEED_TOKENS
               ) -> dict[str, float]:
    """Seconds for one reply of exactly `tokens` new tokens (greedy, one prompt): wall time,
    and this process's CPU time, which on a busy machine is close to what one idle core
    would take with one torch thread (the wall time counts the waits for a core)."""
    import torch

    encoded = tokenizer([_prompt_text(tokenizer, system, SPEED_PROMPT)], return_tensors="pt",
                        add_special_tokens=False)
    kwargs = dict(encoded, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                  temperature=None, top_p=None, top_k=None, pad_token_id=tokenizer.pad_token_id)
    started, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        out = model.generate(**kwargs)
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    new = out.shape[1] - encoded["input_ids"].shape[1]
    return {"reply_s": round(seconds, 2), "reply_tokens": new, "tok_s": round(new / seconds, 2),
            "reply_cpu_s": round(cpu_s, 2), "threads": torch.get_num_threads()}
