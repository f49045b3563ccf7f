"""Cost of an encoder: parameters and GMAC of one S2 pass (batch 1, one multiply-add = one
operation), which are properties of the encoder, and images/s measured on the machine
that runs the evaluation, which is not (it goes to ``timing.json``, beside the
deterministic ``metrics.json``)."""

from __future__ import annotations

import torch

from csmoe.devices import autocast, timed
from csmoe.models.flops import encoder_cost

TIMED_STEPS, BATCH = 5, 16


@torch.no_grad()
def images_per_second(encoder, device: torch.device, batch: int = BATCH) -> float:
    side = encoder.img_size
    channels = encoder.patch_embed["s2"].proj.in_channels
    x = torch.randn(batch, channels, side, side, device=device)

    def step() -> None:
        with autocast(device):
            encoder.embedding(x, "s2")

    _, seconds = timed(step, device, TIMED_STEPS)
    return batch / seconds


def efficiency(encoder) -> dict:
    """Parameters (millions) and GMAC of one S2 pass at the encoder's input side."""
    device = next(encoder.parameters()).device
    cost = encoder_cost(encoder.cpu(), encoder.img_size, "s2")
    encoder.to(device)
    return {"params_m": cost["params"] / 1e6, "gmac": cost["gmac"], "img": cost["img"]}


def throughput(encoder, device: torch.device) -> dict:
    """S2 images per second of the encoder on `device` (a measurement, not a result)."""
    return {
        "images_per_s": images_per_second(encoder, device),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }
