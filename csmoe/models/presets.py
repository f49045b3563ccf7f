"""Model presets as plain factory functions.

- ``csmae_b``: the dense CSMAE baseline: ViT-B (768 wide, 12 blocks, 12 heads) with
  patch 15 (8 x 8 tokens at 120 px), common encoder, common 8 x 512 decoder.
- ``csmae_b16``: the same dense ViT-B with patch 16 at 224 px (17.8 GMAC for S2): the
  dense inference baseline of ``csmoe_b16``.
- ``csmoe_b32 / b28 / b16 / b14``: the same ViT-B with a Soft MoE of 4 experts in every
  block; the slots per expert are chosen so that S2-only inference at 224 px, attention
  included, matches the published cost (2.92 / 3.67 / 10.11 / 13.40 GMAC): 5 / 6 / 14 /
  18 slots per expert (20 / 24 / 56 / 72 slots) for 49 / 64 / 196 / 256 patch tokens give
  3.01 / 3.71 / 10.15 / 13.47 GMAC (+3.0 / +1.0 / +0.4 / +0.5 %; one slot per expert
  fewer would be -5 / -6 / -2 / -1.4 %). Four experts in all twelve blocks give 258-265 M
  parameters (published: 271-277 M, -4.4 to -4.9 %; the difference across patch sizes is
  the patch embedding), and about a third as many slots as tokens is what brings a
  same-token dense ViT-B down to 57-64 % of its cost, as published.
- ``csmoe_b15``: CSMoE at CSMAE's own geometry (120 px, patch 15, 64 tokens) with the
  slot density of ``csmoe_b28`` (6 slots per expert for 64 tokens).
- ``csmae_tiny``, ``csmoe_tiny``: 192 wide, 4 blocks, for the CPU demo and tests.

Each preset has a native input size (`img_size`: 120 px for patch 15, else 224 px). The
slot count is fixed: pretraining runs at the native size (BigEarthNet's 120 px patches
resampled on the fly), where the encoder sees half of the tokens and still uses every
slot, so every slot used at inference is trained.

`variant` picks the CSMAE encoder/decoder layout: CECD (common encoder, common
decoder; default), CESD, SECD, SESD (SE: 10 sensor-specific + 2 shared blocks; SD: one
decoder per target sensor). Other keyword arguments go to `CrossSensorMAE` (mask_mode,
mask_ratio, reconstruction, loss_weights, temperature).
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
        img_size=120 if patch_size == 15 else 224, patch_size=patch_size,
        embed_dim=embed_dim, depth=depth, num_heads=heads,
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


def _all_blocks_moe(slots_per_expert: int) -> dict:
    return {"moe_blocks": range(12), "num_experts": 4, "slots_per_expert": slots_per_expert}


def csmae_b(**kwargs) -> CrossSensorMAE:
    return _vit_b(15, **kwargs)


def csmoe_b32(**kwargs) -> CrossSensorMAE:
    return _vit_b(32, _all_blocks_moe(5), **kwargs)


def csmoe_b28(**kwargs) -> CrossSensorMAE:
    return _vit_b(28, _all_blocks_moe(6), **kwargs)


def csmae_b16(**kwargs) -> CrossSensorMAE:
    return _vit_b(16, **kwargs)


def csmoe_b16(**kwargs) -> CrossSensorMAE:
    return _vit_b(16, _all_blocks_moe(14), **kwargs)


def csmoe_b14(**kwargs) -> CrossSensorMAE:
    return _vit_b(14, _all_blocks_moe(18), **kwargs)


def csmoe_b15(**kwargs) -> CrossSensorMAE:
    """CSMoE at 120 px (patch 15, 64 tokens), 24 slots: those of ``csmoe_b28``."""
    return _vit_b(15, _all_blocks_moe(6), **kwargs)


def csmae_tiny(**kwargs) -> CrossSensorMAE:
    return _model(patch_size=15, embed_dim=192, depth=4, heads=3, decoder=(128, 2, 4), **kwargs)


def csmoe_tiny(**kwargs) -> CrossSensorMAE:
    moe = {"moe_blocks": (2, 3), "num_experts": 4, "slots_per_expert": 6}
    return _model(patch_size=15, embed_dim=192, depth=4, heads=3, decoder=(128, 2, 4), moe=moe,
                  **kwargs)  # fmt: skip


PRESETS: dict[str, Callable[..., CrossSensorMAE]] = {
    f.__name__: f
    for f in (
        csmae_b,
        csmae_b16,
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
    """A preset by name; unknown presets and unknown or invalid options raise ValueError."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    try:
        return PRESETS[name](**kwargs)
    except TypeError as error:  # an option no constructor takes
        raise ValueError(f"preset {name}: {error}") from None
