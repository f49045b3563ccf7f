"""Where models run: the device choice and the precision used there.

On CUDA, bf16 autocast; on the CPU, float32 (autocast off).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from csmoe.errors import InputError


def pick_device(choice: str) -> torch.device:
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("--device", "cuda requested, but no CUDA device is available")
    return torch.device(choice)


def autocast(device: torch.device):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def timed(step: Callable[[], None], device: torch.device, steps: int,
          warmup: int = 1) -> tuple[float, float]:  # fmt: skip
    """(seconds of the first call, mean seconds per call of `steps` timed calls after
    `warmup` untimed ones, the first included); CUDA work is waited for."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    sync()
    start = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return first, (time.perf_counter() - start) / steps
