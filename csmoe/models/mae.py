"""Cross-sensor masked autoencoder (CSMAE) around a `CrossSensorEncoder`.

Each sensor's patches are masked per sample (independent, identical or complementary
masks); the encoder sees the visible tokens only. A decoder (one common decoder with a
pixel head per target sensor, or one decoder per target sensor) reconstructs:
S1 <- S1 and S2 <- S2 (uni-modal) and S2 <- S1, S1 <- S2 (cross-modal: the visible
tokens of one sensor decoded into the other sensor's pixels). Each loss is the MSE on
the target sensor's masked patches (targets are the normalised pixels). An NT-Xent term
pulls the pooled S1 and S2 embeddings of a pair together.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block
from torch import nn

from csmoe.models.encoder import SENSORS, CrossSensorEncoder, _init_linear, _layer_norm
from csmoe.models.pos_embed import sincos_2d

MASK_MODES = ("independent", "identical", "complementary")
LOSSES = ("s1_s1", "s2_s2", "s2_from_s1", "s1_from_s2", "contrastive")


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
    tokens: torch.Tensor, ratio: float, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the (1 - ratio) lowest-noise tokens of each sample, in order of noise.

    Returns kept tokens, the mask (1 = masked) in original order, and the permutation
    that restores the original order after the kept tokens are followed by mask tokens.
    """
    b, length, d = tokens.shape
    keep = int(length * (1 - ratio))
    ids_shuffle = noise.argsort(dim=1)
    ids_restore = ids_shuffle.argsort(dim=1)
    ids_keep = ids_shuffle[:, :keep]
    kept = tokens.gather(1, ids_keep[..., None].expand(-1, -1, d))
    mask = torch.ones(b, length, device=tokens.device)
    mask[:, :keep] = 0
    return kept, mask.gather(1, ids_restore), ids_restore


class Decoder(nn.Module):
    """MAE decoder: mask tokens, fixed sin-cos positions, blocks, one head per target."""

    def __init__(self, encoder_dim: int, dim: int, depth: int, heads: int, patch: int,
                 out_chans: dict[str, int]) -> None:  # fmt: skip
        super().__init__()
        self.dim, self.patch = dim, patch
        self.embed = nn.Linear(encoder_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(
            Block(dim, heads, 4.0, qkv_bias=True, norm_layer=_layer_norm) for _ in range(depth)
        )
        self.norm = _layer_norm(dim)
        self.heads = nn.ModuleDict(
            {s: nn.Linear(dim, patch * patch * c) for s, c in out_chans.items()}
        )
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(_init_linear)

    def forward(self, latent: torch.Tensor, ids_restore: torch.Tensor, target: str) -> torch.Tensor:
        x = self.embed(latent)
        b, length = ids_restore.shape
        masks = self.mask_token.expand(b, length + 1 - x.shape[1], -1)
        patches = torch.cat([x[:, 1:], masks], dim=1)
        patches = patches.gather(1, ids_restore[..., None].expand(-1, -1, self.dim))
        x = torch.cat([x[:, :1], patches], dim=1)
        x = x + sincos_2d(self.dim, int(length**0.5)).to(x)
        for blk in self.blocks:
            x = blk(x)
        return self.heads[target](self.norm(x))[:, 1:]


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
        loss_weights: dict[str, float] | None = None,
        temperature: float = 0.5,
    ) -> None:
        super().__init__()
        if mask_mode not in MASK_MODES:
            raise ValueError(f"mask_mode must be one of {MASK_MODES}")
        self.encoder = encoder
        self.in_chans = in_chans or {"s1": 2, "s2": 10}
        self.mask_ratio, self.mask_mode, self.temperature = mask_ratio, mask_mode, temperature
        self.loss_weights = {name: 1.0 for name in LOSSES} | (loss_weights or {})
        args = (encoder.embed_dim, decoder_dim, decoder_depth, decoder_heads, encoder.patch_size)
        if common_decoder:
            shared = Decoder(*args, self.in_chans)
            self.decoders = nn.ModuleDict({s: shared for s in SENSORS})
        else:
            self.decoders = nn.ModuleDict(
                {s: Decoder(*args, {s: self.in_chans[s]}) for s in SENSORS}
            )

    # ---------------------------------------------------------------- encoder
    def mask_noise(self, b: int, length: int, device, generator=None) -> dict[str, torch.Tensor]:
        first = torch.rand(b, length, device=device, generator=generator)
        if self.mask_mode == "identical":
            return {"s1": first, "s2": first}
        if self.mask_mode == "complementary":
            return {"s1": first, "s2": 1.0 - first}
        second = torch.rand(b, length, device=device, generator=generator)
        return {"s1": first, "s2": second}

    def forward_encoder(self, images: dict[str, torch.Tensor], generator=None) -> dict:
        tokens = {s: self.encoder.embed(images[s], s) for s in SENSORS}
        b, length, _ = tokens["s2"].shape
        noise = self.mask_noise(b, length, tokens["s2"].device, generator)
        out = {}
        for s in SENSORS:
            kept, mask, ids_restore = random_masking(tokens[s], self.mask_ratio, noise[s])
            latent = self.encoder.transform(self.encoder.add_cls(kept, s), s)
            out[s] = {"latent": latent, "mask": mask, "ids_restore": ids_restore}
        return out

    # ----------------------------------------------------------------- losses
    def reconstruction_loss(self, target: torch.Tensor, pred: torch.Tensor,
                            mask: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """Mean squared error per patch, averaged over the masked patches."""
        per_patch = ((pred - patchify(target, self.encoder.patch_size)) ** 2).mean(dim=-1)
        return (per_patch * mask).sum() / mask.sum().clamp(min=1)

    def nt_xent(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """SimCLR's normalised-temperature cross entropy over the 2B embeddings."""
        z = F.normalize(torch.cat([a, b]), dim=-1)
        sim = z @ z.T / self.temperature
        sim.fill_diagonal_(float("-inf"))
        n = a.shape[0]
        targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(a.device)
        return F.cross_entropy(sim, targets)

    def forward(
        self, s1: torch.Tensor, s2: torch.Tensor, generator=None
    ) -> dict[str, torch.Tensor]:
        images = {"s1": s1, "s2": s2}
        encoded = self.forward_encoder(images, generator)
        losses = {}
        for source in SENSORS:
            for target in SENSORS:
                name = f"{target}_{source}" if source == target else f"{target}_from_{source}"
                enc = encoded[source]
                pred = self.decoders[target](enc["latent"], enc["ids_restore"], target)
                losses[name] = self.reconstruction_loss(images[target], pred,
                                                        encoded[target]["mask"])  # fmt: skip
        pooled = {s: self.encoder.pool(encoded[s]["latent"]) for s in SENSORS}
        losses["contrastive"] = self.nt_xent(pooled["s1"], pooled["s2"])
        losses["loss"] = sum(self.loss_weights[k] * losses[k] for k in LOSSES)
        return losses
