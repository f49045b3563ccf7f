"""Parameter and multiply-accumulate counts of one pass (as the paper reports).

`torch.utils.flop_counter` counts two FLOPs per multiply-add of matrix products and
convolutions; the paper counts one multiply-add as one FLOP (GMAC), so the count is
halved. Attention is counted on its math path (scores ``q @ k^T`` and ``attn @ v`` as
matrix products): the fused kernel that attention uses otherwise is not counted on every
device (on the CPU it is missed, which undercounted a ViT-B/16 by 0.7 GMAC). Softmax,
norms and activations are not multiply-adds and are left out, as in the published
figures. Parameters: the encoder's (both sensors' patch embeddings and class tokens
included), without the decoders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch.utils.flop_counter import FlopCounterMode

from csmoe.models.encoder import CrossSensorEncoder


@contextmanager
def math_attention(module: torch.nn.Module) -> Iterator[None]:
    """Every timm attention layer in `module` on its unfused (countable) path."""
    layers = [m for m in module.modules() if hasattr(m, "fused_attn")]
    before = [m.fused_attn for m in layers]
    for layer in layers:
        layer.fused_attn = False
    try:
        yield
    finally:
        for layer, fused in zip(layers, before, strict=True):
            layer.fused_attn = fused


def count_gmac(module: torch.nn.Module, run: Callable[[], object]) -> float:
    """GMAC of `run()` (which calls `module`), attention included."""
    with math_attention(module), FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops() / 2 / 1e9


def encoder_cost(encoder: CrossSensorEncoder, img: int, sensor: str = "s2") -> dict:
    channels = encoder.patch_embed[sensor].proj.in_channels
    x = torch.zeros(1, channels, img, img)
    encoder.eval()
    with torch.no_grad():
        gmac = count_gmac(encoder, lambda: encoder(x, sensor))
    return {
        "params": sum(p.numel() for p in encoder.parameters()),
        "gmac": gmac,
        "img": img,
        "sensor": sensor,
        "tokens": (img // encoder.patch_size) ** 2,
    }


def preset_cost(preset: str, img: int, sensor: str = "s2") -> dict:
    """`encoder_cost` of a preset's encoder; an input side the patch does not divide is
    bad input."""
    from csmoe.errors import InputError
    from csmoe.models.presets import create_model

    try:
        return encoder_cost(create_model(preset).encoder, img, sensor)
    except ValueError as error:
        raise InputError("--img", str(error)) from None
