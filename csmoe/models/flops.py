"""Parameter and multiply-accumulate counts of one encoder pass (as the paper reports).

`torch.utils.flop_counter` counts two FLOPs per multiply-add of matrix products,
convolutions and attention; the paper counts one multiply-add as one FLOP (GMAC), so the
count is halved. Parameters: the encoder's (both sensors' patch embeddings and class
tokens included), without the decoders.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from csmoe.models.encoder import CrossSensorEncoder


def encoder_cost(encoder: CrossSensorEncoder, img: int, sensor: str = "s2") -> dict:
    channels = encoder.patch_embed[sensor].proj.in_channels
    x = torch.zeros(1, channels, img, img)
    encoder.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        encoder(x, sensor)
    return {
        "params": sum(p.numel() for p in encoder.parameters()),
        "gmac": counter.get_total_flops() / 2 / 1e9,
        "img": img,
        "sensor": sensor,
        "tokens": (img // encoder.patch_size) ** 2,
    }
