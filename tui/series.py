"""Metric series folded into min/max buckets, so drawing 100,000 points costs what 300 do.

A bucket covers a fixed run of 2**k consecutive points. New points fill the last bucket; when
there are too many buckets, neighbours merge pairwise. Bucket edges therefore only ever disappear,
never shift, and a live curve does not jitter as points arrive. Spikes survive because each bucket
keeps its minimum and maximum.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

MAX_BUCKETS = 1024
LARGEST = 1e300  # larger values are left out: their differences would overflow
NOT_METRICS = frozenset({"t", "step", "stage", "epoch"})


@dataclass
class Bucket:
    x0: float
    x1: float
    lo: float
    hi: float
    first: float
    last: float
    count: int


class BucketSeries:
    def __init__(self, max_buckets: int = MAX_BUCKETS):
        self.max_buckets = max_buckets
        self.size = 1
        self.buckets: list[Bucket] = []

    def add(self, x: float, y: float) -> None:
        last = self.buckets[-1] if self.buckets else None
        if last is not None and last.count < self.size:
            last.x1, last.last, last.count = x, y, last.count + 1
            if y < last.lo:
                last.lo = y
            elif y > last.hi:
                last.hi = y
            return
        self.buckets.append(Bucket(x, x, y, y, y, y, 1))
        if len(self.buckets) > self.max_buckets:
            self._halve()

    def extend(self, xs: array, ys: array) -> None:
        """Many points at once: into an empty series, the buckets that adding them one by one would
        give, cut from the arrays directly (min/max of slices run in C)."""
        if self.buckets:
            for x, y in zip(xs, ys):
                self.add(x, y)
            return
        n = len(xs)
        while -(-n // self.size) > self.max_buckets:
            self.size *= 2
        size = self.size
        for i in range(0, n, size):
            part = ys[i : i + size]
            self.buckets.append(
                Bucket(xs[i], xs[i + len(part) - 1], min(part), max(part), part[0], part[-1], len(part))
            )

    def _halve(self) -> None:
        merged = []
        for i in range(0, len(self.buckets), 2):
            a = self.buckets[i]
            if i + 1 == len(self.buckets):
                merged.append(a)
                continue
            b = self.buckets[i + 1]
            merged.append(Bucket(a.x0, b.x1, min(a.lo, b.lo), max(a.hi, b.hi), a.first, b.last, a.count + b.count))
        self.buckets = merged
        self.size *= 2


class MetricSeries:
    """The raw points of one metric of one run, and their bucketed view for the current settings.

    A view (smoothing, start of the x range, log scale) is folded point by point and keeps
    folding as points arrive, so following a live run costs the new points only.
    """

    def __init__(self) -> None:
        self.xs = array("d")
        self.ys = array("d")
        self._key: tuple[float, float, bool] | None = None
        self._view = BucketSeries()
        self._used = 0
        self._acc = 0.0
        self._n = 0
        self._lo = math.inf
        self._hi = -math.inf
        self._scanned = 0

    def __len__(self) -> int:
        return len(self.xs)

    @property
    def version(self) -> int:
        return len(self.xs)

    def stats(self) -> tuple[float, float, float] | None:
        """(last, min, max) of the raw points, NaN left out; folded as points arrive."""
        ys = self.ys
        for i in range(self._scanned, len(ys)):
            y = ys[i]
            if y < self._lo:
                self._lo = y
            if y > self._hi:
                self._hi = y
        self._scanned = len(ys)
        last = next((ys[i] for i in range(len(ys) - 1, -1, -1) if not math.isnan(ys[i])), None)
        return None if last is None else (last, self._lo, self._hi)

    def append(self, x: float, y: float) -> None:
        self.xs.append(x)
        self.ys.append(y)

    def view(self, smoothing: float, x_from: float, log_y: bool) -> BucketSeries:
        key = (smoothing, x_from, log_y)
        if key != self._key:
            self._key, self._view, self._used, self._acc, self._n = key, BucketSeries(), 0, 0.0, 0
        view, xs, ys = self._view, self.xs, self.ys
        if self._used == 0 and key == (0.0, 0.0, False):
            view.extend(xs, ys)  # the default view of a long run: no per-point work
            self._used = len(xs)
            return view
        for i in range(self._used, len(xs)):
            y = ys[i]
            if math.isnan(y):
                continue
            if smoothing > 0:
                # exponential moving average with bias correction, as TensorBoard smooths
                self._n += 1
                self._acc = self._acc * smoothing + (1 - smoothing) * y
                y = self._acc / (1 - smoothing**self._n)
            if xs[i] < x_from or (log_y and y <= 0):
                continue
            view.add(xs[i], math.log10(y) if log_y else y)
        self._used = len(xs)
        return view


class RunCurves:
    """Every numeric metric of one run, on one x axis that keeps counting across stages.

    Each stage's steps restart at 1 (SFT then GRPO); later stages are shifted past the earlier ones.
    """

    def __init__(self) -> None:
        self.metrics: dict[str, MetricSeries] = {}
        self._stage: str | None = None
        self._offset = 0.0
        self._last_x = 0.0
        self.bad_lines = 0

    def clear(self) -> None:
        self.__init__()

    def add_records(self, records: list[dict]) -> None:
        # The hot loop of opening a long run (100,000 records): arrays are appended to directly.
        metrics = self.metrics
        for record in records:
            step = record.get("step")
            if (type(step) is not int and type(step) is not float) or not -LARGEST < step < LARGEST:
                self.bad_lines += 1
                continue
            stage = record.get("stage")
            if stage != self._stage:
                if self._stage is not None:
                    self._offset = self._last_x
                self._stage = stage
            x = self._offset + step
            if x > self._last_x:
                self._last_x = x
            for key, value in record.items():
                kind = type(value)
                # finite and within a double only (NaN fails the comparison): JSON allows
                # NaN, Infinity and integers of any size
                if (kind is float or kind is int) and -LARGEST < value < LARGEST and key not in NOT_METRICS:
                    series = metrics.get(key)
                    if series is None:
                        series = metrics[key] = MetricSeries()
                    series.xs.append(x)
                    series.ys.append(value)
