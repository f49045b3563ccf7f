"""Building blocks the encoder and the MAE decoder share: their LayerNorm and the
MAE reference initialisation of linear and norm layers."""

from __future__ import annotations

from torch import nn


def layer_norm(dim: int, **kwargs) -> nn.LayerNorm:
    """LayerNorm with the MAE/timm ViT epsilon (timm passes device and dtype)."""
    return nn.LayerNorm(dim, eps=1e-6, **kwargs)


def init_linear(module: nn.Module) -> None:
    """Xavier-uniform linear weights, zero biases; unit LayerNorms (``model.apply``)."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
