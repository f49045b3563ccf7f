"""Benchmark commands (``python -m csmoe bench <name>``): each prints one JSON object."""

from __future__ import annotations

import importlib
from pathlib import Path

# name -> default size (footprints, patches or batch) of each benchmark module.
SIZES = {"descriptors": 20_000, "sampling": 100_000, "synth": 2_000, "loader": 256, "model": 8,
         "profile": 8, "zarr": 256, "ssl4eo": 300, "worldcover": 250_000}  # fmt: skip


def run_benchmark(name: str, n: int | None, workdir: Path, seed: int = 0,
                  model_options: dict | None = None) -> dict:  # fmt: skip
    """`csmoe.bench.<name>.bench_<name>` at size `n` (default `SIZES[name]`)."""
    Path(workdir).mkdir(parents=True, exist_ok=True)
    run = getattr(importlib.import_module(f"csmoe.bench.{name}"), f"bench_{name}")
    extra = (model_options or {}) if name in ("model", "profile") else {}
    return run(n or SIZES[name], Path(workdir), seed=seed, **extra)
