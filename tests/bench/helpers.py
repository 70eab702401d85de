"""Printing and percentiles shared by the benchmarks."""

import math
import os


def pct(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def bench(title: str, *lines: str) -> None:
    print(f"\nBENCH {title}", flush=True)
    for line in lines:
        print(f"BENCH   {line}", flush=True)


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f}/{five:.1f} on {os.cpu_count()} CPUs"
