"""Fixed 2-D sine-cosine position embeddings (as in MAE), for any square grid."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

# Largest table kept as a buffer (elements): a real model's is ~10^5; a described grid
# beyond this is computed per call instead of allocated at construction.
MAX_BUFFER = 2**24


def _one_axis(dim: int, positions: torch.Tensor) -> torch.Tensor:
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    angles = positions.reshape(-1, 1).double() * omega[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_table(dim: int, grid: int, cls_token: bool = True) -> torch.Tensor:
    """(1 [+ 1], grid * grid, dim) embedding; the class token's position is zero."""
    if dim % 4:
        raise ValueError(f"embedding width {dim} must be divisible by 4")
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    embed = torch.cat([_one_axis(dim // 2, cols), _one_axis(dim // 2, rows)], dim=1)
    if cls_token:
        embed = torch.cat([torch.zeros(1, dim, dtype=embed.dtype), embed])
    return embed.float()[None]


@lru_cache(maxsize=32)
def sincos_2d(dim: int, grid: int, cls_token: bool = True) -> torch.Tensor:
    """`sincos_table`, cached on the CPU."""
    return sincos_table(dim, grid, cls_token)


class FixedPositions(nn.Module):
    """The embedding of the native grid as a buffer (it moves with the module, so no copy
    to the device per call; non-persistent, so state dicts are unchanged); other grids are
    computed on demand."""

    def __init__(self, dim: int, grid: int) -> None:
        super().__init__()
        self.dim, self.grid = dim, grid
        # Uncached: built on the meta device (description checks), a cached table would be
        # a meta tensor for every later model of that shape.
        native = sincos_table(dim, grid) if (grid * grid + 1) * dim <= MAX_BUFFER else None
        self.register_buffer("native", native, persistent=False)

    def forward(self, grid: int, like: torch.Tensor) -> torch.Tensor:
        """(1, 1 + grid * grid, dim) in the dtype and on the device of `like`."""
        if grid == self.grid and self.native is not None:
            return self.native.to(like.dtype)
        return sincos_2d(self.dim, grid).to(like)
