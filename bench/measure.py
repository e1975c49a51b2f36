"""What every benchmark figure carries: the run it was measured in and the machine's load before and during it.

A figure is a dict with `run` (the id of the runner's invocation that measured it) and `load`
(os.getloadavg() just before the measurement, and sampled every second while it ran). A ratio is
only ever computed from two figures of the same run: `ratio()` refuses any other pair, so that no
report divides a figure of a quiet machine by one of a busy one, or of another day.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

RUN = uuid.uuid4().hex[:12]  # this process's run: every figure it measures carries it


class NotSameRun(ValueError):
    """The two sides of a ratio were not measured in the same run."""


def load_now() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


class LoadSampler:
    """Samples the 1-minute load average every `interval` seconds in a thread, from start to stop."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self.before: list[float] = []
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LoadSampler:
        self.before = load_now()
        self.samples = [self.before[0]]
        self._thread = threading.Thread(target=self._run, name="bench-load", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(round(os.getloadavg()[0], 2))

    def stop(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append(round(os.getloadavg()[0], 2))
        return {
            "before": self.before,
            "during_mean": round(sum(self.samples) / len(self.samples), 2),
            "during_max": max(self.samples),
            "samples": len(self.samples),
            "cpus": os.cpu_count(),
        }


def measured(measure: Callable[[], T]) -> dict:
    """Run one measurement; its result (a dict, or put under "value") stamped with the run and the load."""
    sampler = LoadSampler().start()
    started = time.monotonic()
    try:
        result = measure()
    finally:
        load = sampler.stop()
    figure = dict(result) if isinstance(result, dict) else {"value": result}
    figure.update(run=RUN, load=load, seconds=round(time.monotonic() - started, 2))
    return figure


def ratio(numerator: dict, denominator: dict, key: str, denominator_key: str | None = None) -> float:
    """numerator[key] / denominator[denominator_key or key], both figures of the same run, or NotSameRun."""
    runs = (numerator.get("run"), denominator.get("run"))
    if None in runs or runs[0] != runs[1]:
        raise NotSameRun(f"a ratio of figures measured in different runs ({runs[0]} / {runs[1]}) is not reported")
    return numerator[key] / denominator[denominator_key or key]


def load_text(figure: dict) -> str:
    """The load beside a figure, for the report: before and during (mean, max) on n CPUs."""
    load = figure.get("load")
    if not load:
        return "load: not recorded"
    return (
        f"load before {load['before'][0]:.2f}, during {load['during_mean']:.2f} (max {load['during_max']:.2f}) "
        f"on {load['cpus']} CPUs"
    )
