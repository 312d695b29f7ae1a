"""Energy and money of local work, from measured compute time times configured power.

A model of power, not a wattmeter: process CPU seconds x `cpu_power_w` plus GPU-busy seconds
x `gpu_power_w`. CPU time is the whole process's, so work of other sessions that runs in the
same window is counted too; generation is serialised and waiting for the lock is not
measured, which keeps that small.
"""

from __future__ import annotations

import time

JOULES_PER_KWH = 3.6e6


def energy_cost_usd(energy_j: float, usd_per_kwh: float) -> float:
    """Electricity price of `energy_j` joules."""
    return energy_j / JOULES_PER_KWH * usd_per_kwh


class EnergyMeter:
    """Measures one turn in windows: `start()`/`pause()` around work that is this turn's
    (perception, generation), not around waiting for another session's generation."""

    def __init__(self, cpu_power_w: float, gpu_power_w: float, usd_per_kwh: float) -> None:
        self.cpu_power_w = cpu_power_w
        self.gpu_power_w = gpu_power_w
        self.usd_per_kwh = usd_per_kwh
        self._cpu_start: float | None = None
        self.cpu_s = 0.0
        self.gpu_s = 0.0

    def start(self) -> None:
        """Open a measuring window (no-op if one is open)."""
        if self._cpu_start is None:
            self._cpu_start = time.process_time()

    def pause(self) -> None:
        """Close the open window, keeping what it measured."""
        if self._cpu_start is not None:
            self.cpu_s += time.process_time() - self._cpu_start
            self._cpu_start = None

    def add_gpu_seconds(self, seconds: float) -> None:
        self.gpu_s += max(0.0, seconds)

    def stop(self) -> tuple[float, float]:
        """Close any open window; return (energy in joules, cost in USD) of all windows."""
        self.pause()
        energy = self.cpu_s * self.cpu_power_w + self.gpu_s * self.gpu_power_w
        return energy, energy_cost_usd(energy, self.usd_per_kwh)
