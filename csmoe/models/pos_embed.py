"""Fixed 2-D sine-cosine position embeddings (as in MAE), for any square grid."""

from __future__ import annotations

from functools import lru_cache

import torch


def _one_axis(dim: int, positions: torch.Tensor) -> torch.Tensor:
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    angles = positions.reshape(-1, 1).double() * omega[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


@lru_cache(maxsize=32)
def sincos_2d(dim: int, grid: int, cls_token: bool = True) -> torch.Tensor:
    """(1 [+ 1], grid * grid, dim) embedding; the class token's position is zero."""
    if dim % 4:
        raise ValueError(f"embedding width {dim} must be divisible by 4")
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    embed = torch.cat([_one_axis(dim // 2, cols), _one_axis(dim // 2, rows)], dim=1)
    if cls_token:
        embed = torch.cat([torch.zeros(1, dim, dtype=embed.dtype), embed])
    return embed.float()[None]
