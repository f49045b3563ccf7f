"""Where models run: the device choice and the precision used there.

On CUDA, bf16 autocast; on the CPU, float32 (autocast off).
"""

from __future__ import annotations

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
