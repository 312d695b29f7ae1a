"""Energy accounting: measured CPU time x configured power, only inside measuring windows."""

from __future__ import annotations

import time

import pytest

from backends.energy import EnergyMeter, energy_cost_usd


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
