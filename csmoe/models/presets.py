"""Model presets as plain factory functions.

- ``csmae_b``: the dense CSMAE baseline: ViT-B (768 wide, 12 blocks, 12 heads) with
  patch 15 (8 x 8 tokens at 120 px), common encoder, common 8 x 512 decoder.
- ``csmoe_b32 / b28 / b16 / b14``: the same ViT-B with a Soft MoE of 4 experts in every
  block; the slots per expert are chosen so that S2-only inference at 224 px matches the
  published cost (2.92 / 3.67 / 10.11 / 13.40 GMAC): 5 / 6 / 16 / 22 slots per expert
  (20 / 24 / 64 / 88 slots) for 49 / 64 / 196 / 256 patch tokens. Four experts in all
  twelve blocks give 258-265 M parameters (published: 271-277 M; the difference across
  patch sizes is the patch embedding), and about a third as many slots as tokens is
  what brings a same-token dense ViT-B down to 57-64 % of its cost, as published.
- ``csmoe_b15``: the pretraining configuration at 120 px (patch 15, like ``csmae_b``).
- ``csmae_tiny``, ``csmoe_tiny``: 192 wide, 4 blocks, for the CPU demo and tests.

`variant` picks the CSMAE encoder/decoder layout: CECD (common encoder, common
decoder; default), CESD, SECD, SESD (SE: 10 sensor-specific + 2 shared blocks; SD: one
decoder per target sensor). For pretraining with 50 % masking, pass `slot_ratio` so that
the slot count follows the visible tokens instead of the fixed inference count.
"""

from __future__ import annotations

from collections.abc import Callable

from csmoe.models.encoder import CrossSensorEncoder
from csmoe.models.mae import CrossSensorMAE

VARIANTS = ("CECD", "CESD", "SECD", "SESD")


def _model(*, patch_size: int, embed_dim: int, depth: int, heads: int, decoder: tuple,
           variant: str = "CECD", moe: dict | None = None, **mae) -> CrossSensorMAE:  # fmt: skip
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    encoder = CrossSensorEncoder(
        patch_size=patch_size, embed_dim=embed_dim, depth=depth, num_heads=heads,
        shared_depth=depth if variant.startswith("CE") else 2, **(moe or {}),
    )  # fmt: skip
    dim, dec_depth, dec_heads = decoder
    return CrossSensorMAE(
        encoder, decoder_dim=dim, decoder_depth=dec_depth, decoder_heads=dec_heads,
        common_decoder=variant.endswith("CD"), **mae,
    )  # fmt: skip


def _vit_b(patch_size: int, moe: dict | None = None, **kwargs) -> CrossSensorMAE:
    return _model(patch_size=patch_size, embed_dim=768, depth=12, heads=12,
                  decoder=(512, 8, 16), moe=moe, **kwargs)  # fmt: skip


def _all_blocks_moe(slots_per_expert: int, slot_ratio: float | None = None) -> dict:
    return {"moe_blocks": range(12), "num_experts": 4, "slots_per_expert": slots_per_expert,
            "slot_ratio": slot_ratio}  # fmt: skip


def csmae_b(**kwargs) -> CrossSensorMAE:
    return _vit_b(15, **kwargs)


def csmoe_b32(slot_ratio: float | None = None, **kwargs) -> CrossSensorMAE:
    return _vit_b(32, _all_blocks_moe(5, slot_ratio), **kwargs)


def csmoe_b28(slot_ratio: float | None = None, **kwargs) -> CrossSensorMAE:
    return _vit_b(28, _all_blocks_moe(6, slot_ratio), **kwargs)


def csmoe_b16(slot_ratio: float | None = None, **kwargs) -> CrossSensorMAE:
    return _vit_b(16, _all_blocks_moe(16, slot_ratio), **kwargs)


def csmoe_b14(slot_ratio: float | None = None, **kwargs) -> CrossSensorMAE:
    return _vit_b(14, _all_blocks_moe(22, slot_ratio), **kwargs)


def csmoe_b15(slot_ratio: float | None = 0.25, **kwargs) -> CrossSensorMAE:
    """CSMoE for pretraining at 120 px (patch 15, 64 tokens): slots follow the visible
    tokens (a quarter of them: 12 slots for the 33 tokens left by 50 % masking)."""
    return _vit_b(15, _all_blocks_moe(16, slot_ratio), **kwargs)


def csmae_tiny(**kwargs) -> CrossSensorMAE:
    return _model(patch_size=15, embed_dim=192, depth=4, heads=3, decoder=(128, 2, 4), **kwargs)


def csmoe_tiny(slot_ratio: float | None = 0.5, **kwargs) -> CrossSensorMAE:
    moe = {"moe_blocks": (2, 3), "num_experts": 4, "slots_per_expert": 8, "slot_ratio": slot_ratio}
    return _model(patch_size=15, embed_dim=192, depth=4, heads=3, decoder=(128, 2, 4), moe=moe,
                  **kwargs)  # fmt: skip


PRESETS: dict[str, Callable[..., CrossSensorMAE]] = {
    f.__name__: f
    for f in (
        csmae_b,
        csmoe_b32,
        csmoe_b28,
        csmoe_b16,
        csmoe_b14,
        csmoe_b15,
        csmae_tiny,
        csmoe_tiny,
    )
}


def create_model(name: str, **kwargs) -> CrossSensorMAE:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    return PRESETS[name](**kwargs)
