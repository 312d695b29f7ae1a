"""Energy accounting: measured CPU time x configured power, only inside measuring windows."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backends.energy import EnergyMeter, ThreadGroupClock, energy_cost_usd


def busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cost_of_one_kwh() -> None:
    assert energy_cost_usd(3.6e6, 0.15) == pytest.approx(0.15)


def test_measures_cpu_inside_windows_only() -> None:
    meter = EnergyMeter(cpu_power_w=10.0, gpu_power_w=100.0, usd_per_kwh=0.2)
    meter.start()
    busy(0.05)
    meter.pause()
    busy(0.2)  # outside any window: not this turn's
    meter.start()
    busy(0.05)
    meter.add_gpu_seconds(0.5)
    energy, cost = meter.stop()
    assert 0.1 <= meter.cpu_s < 0.2
    assert energy == pytest.approx(meter.cpu_s * 10.0 + 0.5 * 100.0)
    assert cost == pytest.approx(energy / 3.6e6 * 0.2)


def test_stop_without_start_is_zero() -> None:
    assert EnergyMeter(15.0, 300.0, 0.15).stop() == (0.0, 0.0)


def thread_busy(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_thread_group_clock_counts_its_helpers_but_not_other_threads() -> None:
    """What the local backend uses around `model.generate`: this thread plus the threads it
    starts (torch's OpenMP team), never a concurrent thread of another turn."""
    result: dict[str, float] = {}
    done, released = threading.Event(), threading.Event()

    def pool_worker() -> None:  # like an OpenMP worker: works, then idles in its pool
        thread_busy(0.2)
        done.set()
        released.wait(10)

    def turn() -> None:
        with ThreadGroupClock() as clock:
            thread_busy(0.1)
            helper = threading.Thread(target=pool_worker)
            helper.start()
            done.wait(10)
        released.set()
        helper.join()
        result["cpu_s"] = clock.cpu_s

    other = threading.Thread(target=thread_busy, args=(0.4,))  # another session's work
    other.start()
    worker = threading.Thread(target=turn)
    worker.start()
    worker.join()
    other.join()
    # 0.3 s of its own; /proc ticks are 10 ms, the other thread's 0.4 s must not appear.
    assert 0.25 <= result["cpu_s"] <= 0.4


def test_meter_windows_measure_the_calling_thread_only() -> None:
    meter = EnergyMeter(cpu_power_w=10.0, gpu_power_w=0.0, usd_per_kwh=0.2)
    other = threading.Thread(target=thread_busy, args=(0.3,))
    meter.start()
    other.start()
    thread_busy(0.1)
    other.join()
    meter.pause()
    assert 0.09 <= meter.cpu_s < 0.2


def test_concurrent_identical_local_turns_are_charged_like_a_lone_turn(
        tiny_model: tuple[Any, Any], tmp_path: Path) -> None:
    """Issue 9 item 16: two identical turns at once cost each what one costs alone (they
    were charged each other's perception and generation: 47-212 J for identical turns)."""
    from backends.config import Settings
    from backends.local import LocalBackend
    from backends.types import Attachment, ChatRequest, Message
    from tests.media import sample_image

    model, tokenizer = tiny_model

    def perceive(attachment: Attachment) -> str:  # a fixed amount of CPU, like OCR would use
        busy_python(0.3)
        return "a cat"

    backend = LocalBackend(Settings(local_context_tokens=256), model=model, tokenizer=tokenizer,
                           perceive=perceive)
    image = Attachment.from_path(sample_image("chelsea", tmp_path))

    def energy() -> float:
        request = ChatRequest([Message("user", "the cat is", (image,))], max_new_tokens=24)
        return backend.generate(request).energy_j

    lone = energy()
    energies: list[float] = []
    threads = [threading.Thread(target=lambda: energies.append(energy())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(energies) == 2 and lone > 0
    for value in energies:
        assert 0.6 * lone <= value <= 1.5 * lone, (lone, energies)


def busy_python(seconds: float) -> None:
    """Pure-Python CPU work that holds the GIL, so two of them share one core's time."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        x += 1
