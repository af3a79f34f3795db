"""CPU time and peak RSS of the processes under test, with psutil."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import psutil


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU of a process itself (not its children), in seconds."""
    t = proc.cpu_times()
    return float(t.user + t.system)


def rss_bytes(proc: psutil.Process) -> int:
    return int(proc.memory_info().rss)


@dataclass
class Usage:
    """What one process used during one measured window."""

    cpu_s: float
    peak_rss: int
    end_rss: int


@dataclass
class ProcessMonitor:
    """Samples the RSS of named processes in a thread; CPU is the difference of two readings.

    `busy_elsewhere` is the machine's CPU time spent outside the watched processes during the
    window (in cores): a measure of how noisy the run was.
    """

    pids: Mapping[str, int]
    interval: float = 0.05
    _procs: dict[str, psutil.Process] = field(default_factory=dict)
    _cpu0: dict[str, float] = field(default_factory=dict)
    _peak: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _sys0: float = 0.0
    _wall0: float = 0.0

    def start(self) -> ProcessMonitor:
        self._procs = {name: psutil.Process(pid) for name, pid in self.pids.items()}
        self._cpu0 = {name: cpu_seconds(p) for name, p in self._procs.items()}
        self._peak = {name: rss_bytes(p) for name, p in self._procs.items()}
        self._sys0 = _machine_busy_seconds()
        self._wall0 = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            for name, proc in self._procs.items():
                try:
                    self._peak[name] = max(self._peak[name], rss_bytes(proc))
                except psutil.Error:
                    pass

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds used so far in this window, per process."""
        return {name: cpu_seconds(p) - self._cpu0[name] for name, p in self._procs.items()}

    def stop(self) -> tuple[dict[str, Usage], float]:
        """Usage per process, and the other processes' CPU load in cores over the window."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        usage: dict[str, Usage] = {}
        for name, proc in self._procs.items():
            rss = rss_bytes(proc)
            usage[name] = Usage(
                cpu_s=cpu_seconds(proc) - self._cpu0[name],
                peak_rss=max(self._peak[name], rss),
                end_rss=rss,
            )
        wall = max(time.monotonic() - self._wall0, 1e-9)
        ours = sum(u.cpu_s for u in usage.values())
        elsewhere = max(0.0, (_machine_busy_seconds() - self._sys0 - ours) / wall)
        return usage, elsewhere


def _machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def settle(
    pid: int, *, quiet_share: float = 0.05, window: float = 0.5, limit: float = 15.0
) -> None:
    """Wait until a process uses less than `quiet_share` of a core over `window` (or `limit`)."""
    proc = psutil.Process(pid)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(proc)
        time.sleep(window)
        if cpu_seconds(proc) - before < quiet_share * window:
            return
