"""Timing in the style of ``timeit``: warm-up, adaptive loops per repeat, median and spread.

Implementations of one case are timed *interleaved* (repeat 1 of every implementation, then
repeat 2, ...), so a burst of load from another process slows all of them alike and the ratio
to the library, the figure we report, stays stable on a busy machine.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    repeats: int  # timed repeats per implementation (fewer for slow ones, at least 3)
    min_time: float  # seconds one repeat should last at least (loops are added until it does)
    max_total: float  # seconds one implementation may spend on one case, warm-up excluded


@dataclass(frozen=True)
class Timing:
    median_s: float  # median time of one call
    q1_s: float
    q3_s: float
    min_s: float
    max_s: float
    loops: int  # calls per repeat
    repeats: int
    first_call_s: float  # the warm-up call (includes one-off costs such as lazy imports)

    def spread(self) -> dict[str, float]:
        """Quartiles and extremes of the per-call times of the repeats."""
        return {"q1_s": self.q1_s, "q3_s": self.q3_s, "min_s": self.min_s, "max_s": self.max_s}


def _run(fn: Callable[[], object], loops: int) -> float:
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection in the middle of a repeat is noise, not cost
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def _calibrate(fn: Callable[[], object], min_time: float) -> tuple[int, float]:
    """Loops per repeat (1, 2, 5, 10, 20, ...) so that one repeat lasts at least ``min_time``."""
    loops = 1
    while True:
        for factor in (1, 2, 5):
            n = loops * factor
            elapsed = _run(fn, n)
            if elapsed >= min_time:
                return n, elapsed / n
        loops *= 10


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def measure(
    fns: Mapping[str, Callable[[], object]],
    settings: Settings,
    warmed: Mapping[str, float] | None = None,
) -> dict[str, Timing]:
    """Time every callable of ``fns`` (same case, different implementations) interleaved.

    ``warmed`` maps the names already called once (and how long that took) to skip their warm-up.
    """
    first: dict[str, float] = dict(warmed or {})
    loops: dict[str, int] = {}
    wanted: dict[str, int] = {}
    for name, fn in fns.items():
        if name not in first:
            first[name] = _run(fn, 1)  # warm-up: caches, lazy initialisation, allocator
        loops[name], per_call = _calibrate(fn, settings.min_time)
        per_repeat = per_call * loops[name]
        affordable = int(settings.max_total / per_repeat) if per_repeat > 0 else settings.repeats
        wanted[name] = max(3, min(settings.repeats, affordable))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(max(wanted.values(), default=0)):
        for name, fn in fns.items():
            if r < wanted[name]:
                samples[name].append(_run(fn, loops[name]) / loops[name])
    out = {}
    for name, values in samples.items():
        q1, q3 = _quartiles(values)
        out[name] = Timing(
            median_s=statistics.median(values),
            q1_s=q1,
            q3_s=q3,
            min_s=min(values),
            max_s=max(values),
            loops=loops[name],
            repeats=len(values),
            first_call_s=first[name],
        )
    return out


def predict(previous: tuple[float, float] | None, size: float, exponent: float) -> float:
    """Time at ``size`` extrapolated from ``(size, seconds)`` measured before, as ``size**exponent``."""
    if previous is None:
        return 0.0
    prev_size, prev_time = previous
    return prev_time * math.pow(size / prev_size, exponent)
