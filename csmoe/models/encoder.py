"""Cross-sensor ViT encoder: S1 and S2 streams through common or sensor-specific blocks.

Each sensor has its own patch embedding and class token; both share one fixed 2-D
sin-cos position embedding. The two sequences are processed separately (never
concatenated). Blocks are `timm` ViT blocks; the ones listed in `moe_blocks` carry a
Soft MoE instead of the MLP. With `shared_depth < depth`, the first
``depth - shared_depth`` blocks are sensor specific (CSMAE's "SE" encoders).

`img_size` is the input side the model is built for: the one its Soft MoE slot count was
chosen for and that pretraining uses. Any square side that is a multiple of the patch
size runs; `config` holds the constructor arguments (what an exported encoder needs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager

import torch
import torch.nn.functional as F
from timm.layers import Mlp, PatchEmbed
from timm.models.vision_transformer import Block
from torch import nn

from csmoe.models.layers import init_linear, layer_norm
from csmoe.models.pos_embed import FixedPositions
from csmoe.models.soft_moe import SoftMoE, soft_moe_layer

SENSORS = ("s1", "s2")


def resample(images: torch.Tensor, side: int) -> torch.Tensor:
    """Images (B, C, h, w) to side x side, bicubic (BigEarthNet's 120 px patches to an
    encoder's input side), as in pretraining; unchanged when already that size."""
    if images.shape[-1] == side:
        return images
    return F.interpolate(images, size=(side, side), mode="bicubic", align_corners=False)


class CrossSensorEncoder(nn.Module):
    def __init__(
        self,
        *,
        img_size: int = 120,
        patch_size: int = 15,
        in_chans: dict[str, int] | None = None,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        shared_depth: int | None = None,
        moe_blocks: Iterable[int] = (),
        num_experts: int = 4,
        slots_per_expert: int = 1,
    ) -> None:
        super().__init__()
        in_chans = dict(in_chans or {"s1": 2, "s2": 10})
        moe_blocks = sorted(set(moe_blocks))
        shared_depth = depth if shared_depth is None else shared_depth
        self.config = {
            "img_size": img_size, "patch_size": patch_size, "in_chans": in_chans,
            "embed_dim": embed_dim, "depth": depth, "num_heads": num_heads,
            "mlp_ratio": mlp_ratio, "shared_depth": shared_depth, "moe_blocks": moe_blocks,
            "num_experts": num_experts, "slots_per_expert": slots_per_expert,
        }  # fmt: skip
        self.img_size, self.patch_size, self.embed_dim = img_size, patch_size, embed_dim
        self.patch_embed = nn.ModuleDict(
            {
                s: PatchEmbed(
                    None,
                    patch_size,
                    in_chans[s],
                    embed_dim,
                    strict_img_size=False,
                    dynamic_img_pad=False,
                )  # fmt: skip
                for s in SENSORS
            }
        )
        self.cls_token = nn.ParameterDict(
            {s: nn.Parameter(torch.zeros(1, 1, embed_dim)) for s in SENSORS}
        )
        self.positions = FixedPositions(embed_dim, img_size // patch_size)
        moe = soft_moe_layer(num_experts, slots_per_expert)

        def block(i: int) -> Block:
            mlp = moe if i in moe_blocks else Mlp
            return Block(
                embed_dim, num_heads, mlp_ratio, qkv_bias=True, norm_layer=layer_norm,
                mlp_layer=mlp,
            )  # fmt: skip

        specific = depth - shared_depth
        self.specific_blocks = nn.ModuleDict(
            {s: nn.ModuleList(block(i) for i in range(specific)) for s in SENSORS}
        )
        self.blocks = nn.ModuleList(block(i) for i in range(specific, depth))
        self.norm = layer_norm(embed_dim)
        self.fc_norm = layer_norm(embed_dim)  # after mean pooling, for downstream use
        # Found once here, not by walking the module tree on every forward pass.
        self._moe_layers = [m for m in self.modules() if isinstance(m, SoftMoE)]
        self._expert_record: dict[str, list] | None = None  # recording_expert_shares
        self.initialize_weights()

    # --------------------------------------------------------------------- set-up
    def initialize_weights(self) -> None:
        for s in SENSORS:
            weight = self.patch_embed[s].proj.weight
            nn.init.xavier_uniform_(weight.view(weight.shape[0], -1))
            nn.init.normal_(self.cls_token[s], std=0.02)
        self.apply(init_linear)

    def moe_layers(self) -> list[SoftMoE]:
        return self._moe_layers

    # ------------------------------------------------------------------- forward
    def embed(self, x: torch.Tensor, sensor: str) -> torch.Tensor:
        """Patch tokens with position embedding (no class token yet): (B, L, D)."""
        h, w = x.shape[-2:]
        if h != w or h % self.patch_size:
            raise ValueError(f"input {h}x{w} is not a square multiple of patch {self.patch_size}")
        tokens = self.patch_embed[sensor](x)
        return tokens + self.positions(h // self.patch_size, tokens)[:, 1:]

    def add_cls(self, tokens: torch.Tensor, sensor: str) -> torch.Tensor:
        cls = self.cls_token[sensor].expand(tokens.shape[0], -1, -1)
        return torch.cat([cls, tokens], dim=1)

    def transform(self, tokens: torch.Tensor, sensor: str) -> torch.Tensor:
        """Sensor-specific blocks, shared blocks, final norm."""
        with self._recorded(sensor):
            for blk in self.stream(sensor):
                tokens = blk(tokens)
        return self.norm(tokens)

    @contextmanager
    def recording_expert_shares(self) -> Iterator[dict[str, list[list[torch.Tensor]]]]:
        """Inside the block, every pass of a sensor's tokens appends, per MoE layer, the
        (B, m, experts) share of each output token each expert gives
        (`SoftMoE.recording`): ``record[sensor][pass][layer]``."""
        self._expert_record = record = {s: [] for s in SENSORS}
        try:
            yield record
        finally:
            self._expert_record = None

    @contextmanager
    def _recorded(self, sensor: str) -> Iterator[None]:
        if self._expert_record is None or not self._moe_layers:
            yield
            return
        with ExitStack() as stack:
            shares = [stack.enter_context(moe.recording()) for moe in self._moe_layers]
            yield
        self._expert_record[sensor].append([torch.cat(layer) for layer in shares])

    def forward(self, x: torch.Tensor, sensor: str) -> torch.Tensor:
        """All tokens (class token first) of one sensor's images."""
        return self.transform(self.add_cls(self.embed(x, sensor), sensor), sensor)

    def forward_features(self, x: torch.Tensor, sensor: str) -> torch.Tensor:
        """(B, 1 + L, D) tokens after the final norm, class token first (as timm)."""
        return self.forward(x, sensor)

    def stream(self, sensor: str) -> list[nn.Module]:
        """The blocks one sensor's tokens pass through, in order."""
        return [*self.specific_blocks[sensor], *self.blocks]

    def forward_intermediates(
        self, x: torch.Tensor, sensor: str, indices: Iterable[int], norm: bool = False
    ) -> list[torch.Tensor]:
        """Patch-token maps (B, D, h, w) after the blocks `indices` (0-based over the
        sensor's whole stream; negative values count from the end), for dense decoders."""
        blocks = self.stream(sensor)
        wanted = sorted({i % len(blocks) for i in indices})
        tokens = self.add_cls(self.embed(x, sensor), sensor)
        maps = {}
        for i, blk in enumerate(blocks[: wanted[-1] + 1]):
            tokens = blk(tokens)
            if i in wanted:
                maps[i] = self.patch_map(self.norm(tokens) if norm else tokens)
        return [maps[i % len(blocks)] for i in indices]

    @staticmethod
    def patch_map(tokens: torch.Tensor) -> torch.Tensor:
        """(B, 1 + L, D) tokens, class token first -> (B, D, h, w) map of the patch tokens."""
        b, length, d = tokens.shape
        grid = int((length - 1) ** 0.5)
        return tokens[:, 1:].transpose(1, 2).reshape(b, d, grid, grid)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mean of the patch tokens, then LayerNorm: the downstream embedding."""
        return self.fc_norm(tokens[:, 1:].mean(dim=1))

    def embedding(self, x: torch.Tensor, sensor: str) -> torch.Tensor:
        return self.pool(self.forward(x, sensor))
