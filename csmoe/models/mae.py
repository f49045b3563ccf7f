"""Cross-sensor masked autoencoder (CSMAE) around a `CrossSensorEncoder`.

Each sensor's patches are masked per sample (independent, identical or complementary
masks); the encoder sees the visible tokens only. A decoder (one common decoder with a
pixel head per target sensor, or one decoder per target sensor) reconstructs:
S1 <- S1 and S2 <- S2 (uni-modal) and S2 <- S1, S1 <- S2 (cross-modal). Each loss is the
MSE over masked patches (targets are the normalised pixels). An NT-Xent term pulls the
pooled S1 and S2 embeddings of a pair together.

Cross-modal reconstruction (`reconstruction`):
- ``disjoint`` (default; all published CSMAE configurations): the source's visible
  tokens are decoded at the SOURCE's positions into the target's pixels and scored on
  the patches the source did not see (S2 <- S1 on S1's mask). The source never scores a
  patch it saw. With a common decoder, each source is decoded once for both targets.
- ``identical``: decoded at the TARGET's positions and scored on the target's mask; this
  only means what it says with identical masks, so it requires `mask_mode="identical"`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block
from torch import nn

from csmoe.models.encoder import SENSORS, CrossSensorEncoder
from csmoe.models.gather import gather_rows
from csmoe.models.layers import init_linear, layer_norm
from csmoe.models.pos_embed import FixedPositions

MASK_MODES = ("independent", "identical", "complementary")
RECONSTRUCTIONS = ("disjoint", "identical")
LOSSES = ("s1_s1", "s2_s2", "s2_from_s1", "s1_from_s2", "contrastive")


def loss_name(source: str, target: str) -> str:
    return f"{target}_{source}" if source == target else f"{target}_from_{source}"


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, L, patch * patch * C)."""
    b, c, h, w = images.shape
    x = images.reshape(b, c, h // patch, patch, w // patch, patch)
    return torch.einsum("bchpwq->bhwpqc", x).reshape(b, (h // patch) * (w // patch), -1)


def unpatchify(tokens: torch.Tensor, patch: int, channels: int) -> torch.Tensor:
    b, length, _ = tokens.shape
    grid = int(length**0.5)
    x = tokens.reshape(b, grid, grid, patch, patch, channels)
    return torch.einsum("bhwpqc->bchpwq", x).reshape(b, channels, grid * patch, grid * patch)


def random_masking(
    tokens: torch.Tensor, keep: int, ids_shuffle: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the first `keep` tokens of each sample's random order `ids_shuffle`.

    Returns kept tokens (in that order), the mask (1 = masked) in original order, and the
    permutation that restores the original order after the kept tokens are followed by
    mask tokens.
    """
    b, length, d = tokens.shape
    ids_restore = ids_shuffle.argsort(dim=1)
    ids_keep = ids_shuffle[:, :keep]
    kept = tokens.gather(1, ids_keep[..., None].expand(-1, -1, d))
    mask = torch.ones(b, length, device=tokens.device)
    mask[:, :keep] = 0
    return kept, mask.gather(1, ids_restore), ids_restore


class Decoder(nn.Module):
    """MAE decoder: mask tokens, fixed sin-cos positions, blocks, one head per target."""

    def __init__(self, encoder_dim: int, dim: int, depth: int, heads: int, patch: int,
                 out_chans: dict[str, int], grid: int) -> None:  # fmt: skip
        super().__init__()
        self.dim, self.patch = dim, patch
        self.positions = FixedPositions(dim, grid)
        self.embed = nn.Linear(encoder_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(
            Block(dim, heads, 4.0, qkv_bias=True, norm_layer=layer_norm) for _ in range(depth)
        )
        self.norm = layer_norm(dim)
        self.heads = nn.ModuleDict(
            {s: nn.Linear(dim, patch * patch * c) for s, c in out_chans.items()}
        )
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(init_linear)

    def forward(
        self, latent: torch.Tensor, ids_restore: torch.Tensor, targets: tuple[str, ...]
    ) -> dict[str, torch.Tensor]:
        """Per-patch pixel predictions (B, L, patch * patch * C) for each target sensor."""
        x = self.embed(latent)
        b, length = ids_restore.shape
        masks = self.mask_token.expand(b, length + 1 - x.shape[1], -1)
        patches = torch.cat([x[:, 1:], masks], dim=1)
        patches = patches.gather(1, ids_restore[..., None].expand(-1, -1, self.dim))
        x = torch.cat([x[:, :1], patches], dim=1)
        x = x + self.positions(int(length**0.5), x)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)[:, 1:]
        return {t: self.heads[t](x) for t in targets}


class CrossSensorMAE(nn.Module):
    def __init__(
        self,
        encoder: CrossSensorEncoder,
        *,
        in_chans: dict[str, int] | None = None,
        decoder_dim: int = 512,
        decoder_depth: int = 8,
        decoder_heads: int = 16,
        common_decoder: bool = True,
        mask_ratio: float = 0.5,
        mask_mode: str = "independent",
        reconstruction: str = "disjoint",
        loss_weights: dict[str, float] | None = None,
        temperature: float = 0.5,
    ) -> None:
        super().__init__()
        if mask_mode not in MASK_MODES:
            raise ValueError(f"mask_mode must be one of {MASK_MODES}")
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}")
        if reconstruction == "identical" and mask_mode != "identical":
            raise ValueError("reconstruction 'identical' needs mask_mode 'identical'")
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError("mask_ratio must lie strictly between 0 and 1")
        unknown = set(loss_weights or {}) - set(LOSSES)
        if unknown:
            raise ValueError(f"unknown loss_weights {sorted(unknown)}; expected {LOSSES}")
        self.encoder = encoder
        self.in_chans = in_chans or {"s1": 2, "s2": 10}
        self.mask_ratio, self.mask_mode, self.temperature = mask_ratio, mask_mode, temperature
        self.reconstruction = reconstruction
        self.loss_weights = {name: 1.0 for name in LOSSES} | (loss_weights or {})
        args = (encoder.embed_dim, decoder_dim, decoder_depth, decoder_heads, encoder.patch_size)
        grid = encoder.img_size // encoder.patch_size
        self.common_decoder = common_decoder
        if common_decoder:
            shared = Decoder(*args, self.in_chans, grid)
            self.decoders = nn.ModuleDict({s: shared for s in SENSORS})
        else:
            self.decoders = nn.ModuleDict(
                {s: Decoder(*args, {s: self.in_chans[s]}, grid) for s in SENSORS}
            )

    # ---------------------------------------------------------------- masking
    def visible_tokens(self, length: int) -> dict[str, int]:
        """Tokens each sensor's encoder sees; complementary masks cover every patch once."""
        keep = int(length * (1 - self.mask_ratio))
        if self.mask_mode == "complementary":
            return {"s1": keep, "s2": length - keep}
        return {"s1": keep, "s2": keep}

    def mask_order(self, b: int, length: int, generator=None, device=None) -> dict:
        """Per-sample random token orders (kept tokens first) of both sensors."""

        def order() -> torch.Tensor:
            noise = torch.rand(b, length, generator=generator, device=device)
            return noise.argsort(dim=1, stable=True)

        first = order()
        if self.mask_mode == "identical":
            return {"s1": first, "s2": first}
        if self.mask_mode == "complementary":
            return {"s1": first, "s2": first.flip(1)}  # s2 keeps exactly what s1 masks
        return {"s1": first, "s2": order()}

    # ---------------------------------------------------------------- encoder
    def forward_encoder(self, images: dict[str, torch.Tensor], order: dict | None) -> dict:
        tokens = {s: self.encoder.embed(images[s], s) for s in SENSORS}
        b, length, _ = tokens["s2"].shape
        if order is None:
            order = self.mask_order(b, length, device=tokens["s2"].device)
        keep = self.visible_tokens(length)
        out = {}
        for s in SENSORS:
            kept, mask, ids_restore = random_masking(
                tokens[s], keep[s], order[s].to(tokens[s].device)
            )
            latent = self.encoder.transform(self.encoder.add_cls(kept, s), s)
            out[s] = {"latent": latent, "mask": mask, "ids_restore": ids_restore}
        return out

    # ---------------------------------------------------------------- decoder
    def predictions(self, encoded: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """(prediction, scored mask) per loss name."""
        out = {}
        for source in SENSORS:
            enc = encoded[source]
            if self.reconstruction == "disjoint" and self.common_decoder:
                preds = self.decoders[source](enc["latent"], enc["ids_restore"], SENSORS)
                for target in SENSORS:
                    out[loss_name(source, target)] = (preds[target], enc["mask"])
                continue
            for target in SENSORS:
                place = source if self.reconstruction == "disjoint" or target == source else target
                restore = encoded[place]["ids_restore"]
                pred = self.decoders[target](enc["latent"], restore, (target,))[target]
                out[loss_name(source, target)] = (pred, encoded[place]["mask"])
        return out

    # ----------------------------------------------------------------- losses
    def reconstruction_loss(self, target: torch.Tensor, pred: torch.Tensor,
                            mask: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """Mean squared error per patch, averaged over the scored (masked) patches."""
        per_patch = ((pred - patchify(target, self.encoder.patch_size)) ** 2).mean(dim=-1)
        return (per_patch * mask).sum() / mask.sum().clamp(min=1)

    def nt_xent(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """SimCLR's normalised-temperature cross entropy over the 2B embeddings; under
        torchrun the negatives come from the whole global batch (`gather_rows`)."""
        a, b = gather_rows(a), gather_rows(b)
        z = F.normalize(torch.cat([a, b]), dim=-1)
        sim = z @ z.T / self.temperature
        sim.fill_diagonal_(float("-inf"))
        n = a.shape[0]
        targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(a.device)
        return F.cross_entropy(sim, targets)

    def forward(
        self, s1: torch.Tensor, s2: torch.Tensor, order: dict | None = None
    ) -> dict[str, torch.Tensor]:
        """Every loss term and their weighted sum (`loss`).

        `order`: per-sensor token orders from `mask_order` (drawn here when None); passing
        them makes masking reproducible and independent of device and batch split.
        """
        images = {"s1": s1, "s2": s2}
        encoded = self.forward_encoder(images, order)
        losses = {}
        for name, (pred, mask) in self.predictions(encoded).items():
            target = name.split("_")[0]
            losses[name] = self.reconstruction_loss(images[target], pred, mask)
        pooled = {s: self.encoder.pool(encoded[s]["latent"]) for s in SENSORS}
        losses["contrastive"] = self.nt_xent(pooled["s1"], pooled["s2"])
        losses["loss"] = sum(self.loss_weights[k] * losses[k] for k in LOSSES)
        return losses
