"""Device and network profiles: what each action costs in seconds, dollars and joules.

Defaults are the paper's: a 3.8B model on a Jetson TX2 (latency from peak FLOPS, energy from
peak power, electricity at 16.68 c/kWh) and a cloud reached over a wired network, priced per
number of views uploaded. Profiles are plain data so the app can pass its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from policies.base import ActionSpace

RESOURCES: tuple[str, ...] = ("latency_s", "usd", "energy_j")
# The paper's per-dialogue budgets on M4A1 (energy is not budgeted there): one definition for the
# env, LCIO's training and the paper's protocol.
PAPER_BUDGETS: dict[str, float] = {"latency_s": 30.0, "usd": 0.05, "energy_j": float("inf")}


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    peak_gflops: float
    max_power_w: float
    params: float = 3.8e9
    l_base: int = 1024
    l_total: int = 2048
    cents_per_kwh: float = 16.68

    @property
    def latency_s(self) -> float:
        flops = 2 * self.params / self.l_base * self.l_total
        return flops / (self.peak_gflops * 1e9)

    @property
    def energy_j(self) -> float:
        return self.max_power_w * self.latency_s

    @property
    def usd(self) -> float:
        return self.energy_j * (self.cents_per_kwh / 100) / 3.6e6


@dataclass(frozen=True)
class NetworkProfile:
    name: str
    latency_by_views: tuple[float, ...]  # seconds for a cloud call with 0, 1, 2, 3 views
    usd_by_views: tuple[float, ...] = (0.00049, 0.00500, 0.00945, 0.01368)
    radio_power_w: float = 0.0  # device energy while waiting on the cloud (paper: not counted)


DEVICES: dict[str, DeviceProfile] = {p.name: p for p in [
    DeviceProfile("Raspberry Pi-4B", 13.5, 8), DeviceProfile("Raspberry Pi-5", 31.4, 12),
    DeviceProfile("Jetson Nano", 472, 10), DeviceProfile("Jetson TX2", 1.33e3, 15),
    DeviceProfile("Jetson Xavier NX", 21e3, 20), DeviceProfile("Jetson Orin NX", 100e3, 25),
    DeviceProfile("Jetson AGX Orin", 275e3, 60), DeviceProfile("iPhone 15 Pro", 35e3, 15),
]}
NETWORKS: dict[str, NetworkProfile] = {p.name: p for p in [
    NetworkProfile("Wired", (6.46030, 4.76134, 6.24569, 6.98211)),
    NetworkProfile("WiFi", (0.5, 1.898, 2.016, 2.238)),
    NetworkProfile("5G", (0.5, 6.037, 6.412, 7.118)),
    NetworkProfile("4G", (0.5, 16.603, 17.636, 19.573)),
]}


@dataclass(frozen=True)
class CostTable:
    """Per-action cost of each resource; cost depends on location and number of attachments."""

    space: ActionSpace = field(default_factory=ActionSpace)
    device: DeviceProfile = DEVICES["Jetson TX2"]
    network: NetworkProfile = NETWORKS["Wired"]

    def per_action(self) -> dict[str, np.ndarray]:
        out = {r: np.zeros(self.space.n) for r in RESOURCES}
        for i, a in enumerate(self.space.actions):
            if a.location == "local":
                out["latency_s"][i], out["usd"][i] = self.device.latency_s, self.device.usd
                out["energy_j"][i] = self.device.energy_j
            else:
                k = len(a.attachments)
                out["latency_s"][i] = self.network.latency_by_views[k]
                out["usd"][i] = self.network.usd_by_views[k]
                out["energy_j"][i] = self.network.radio_power_w * self.network.latency_by_views[k]
        return out

    def normalised(self) -> dict[str, np.ndarray]:
        """The paper's min-max normalisation over {local, cloud with 0..3 views}."""
        raw = self.per_action()
        out = {}
        for r, v in raw.items():
            lo, hi = v.min(), v.max()
            out[r] = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
        return out


def cost_table(device: str = "Jetson TX2", network: str = "Wired",
               space: ActionSpace | None = None) -> CostTable:
    return CostTable(space or ActionSpace(), DEVICES[device], NETWORKS[network])
