"""Soft Mixture-of-Experts layer (Puigcerver et al., ICLR 2024) for timm ViT blocks.

For the token sequence X (m x d) of ONE sample and sensor stream (routing never mixes
samples), slot vectors Phi (d x n*p) and a learnable scale give the logits
``<l2norm(x_i), l2norm(phi_j)> * scale``. Dispatch weights D are a softmax over the
token axis (each slot is a convex combination of tokens); combine weights C a softmax
over all n*p slots (each output token a convex combination of slot outputs). Slot inputs
mix the un-normalised tokens; expert e (an MLP shaped like the dense one, weights stacked
over experts and applied with batched matrix products) processes its p slots.

Slots: a fixed number p per expert, whatever the token count. Every slot vector is used
for every input, in pretraining (visible tokens only) and at inference alike, so every
slot used at inference is trained.

Expert use can be watched: inside ``with layer.recording() as shares:``, each forward
pass appends the (B, m, n) share of every output token that each expert gives (its
combine weights summed over the expert's slots; dispatch weights sum to one per slot by
construction, so use is read from the combine side).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import torch
import torch.nn.functional as F
from timm.layers import to_2tuple
from torch import nn


class SoftMoE(nn.Module):
    """Drop-in replacement of timm's `Mlp`: it takes the same keyword arguments.

    Options `Mlp` has that a Soft MoE does not support (a norm inside the MLP, 1x1
    convolutions) raise instead of being ignored; a misspelt keyword is a TypeError.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        act_layer: type[nn.Module] = nn.GELU,
        norm_layer: type[nn.Module] | None = None,
        bias: bool | tuple[bool, bool] = True,
        drop: float | tuple[float, float] = 0.0,
        use_conv: bool = False,
        device=None,
        dtype=None,
        *,
        num_experts: int = 4,
        slots_per_expert: int = 1,
    ) -> None:
        super().__init__()
        if norm_layer is not None:
            raise ValueError("SoftMoE has no norm inside its experts (norm_layer must be None)")
        if use_conv:
            raise ValueError("SoftMoE works on token sequences (use_conv must be False)")
        if num_experts < 1 or slots_per_expert < 1:
            raise ValueError("SoftMoE needs at least one expert and one slot per expert")
        hidden = hidden_features or in_features
        out = out_features or in_features
        dd = {"device": device, "dtype": dtype}
        self.num_experts, self.slots_per_expert = num_experts, slots_per_expert
        self.phi = nn.Parameter(torch.empty(in_features, num_experts, slots_per_expert, **dd))
        self.scale = nn.Parameter(torch.ones((), **dd))
        self.w1 = nn.Parameter(torch.empty(num_experts, in_features, hidden, **dd))
        self.w2 = nn.Parameter(torch.empty(num_experts, hidden, out, **dd))
        with_bias = to_2tuple(bias)
        self.b1 = nn.Parameter(torch.zeros(num_experts, 1, hidden, **dd)) if with_bias[0] else None
        self.b2 = nn.Parameter(torch.zeros(num_experts, 1, out, **dd)) if with_bias[1] else None
        self.act = act_layer()
        drops = to_2tuple(drop)
        self.drop1, self.drop2 = nn.Dropout(drops[0]), nn.Dropout(drops[1])
        self._shares: list[torch.Tensor] | None = None  # see `recording`
        self.reset_parameters()

    @property
    def num_slots(self) -> int:
        return self.num_experts * self.slots_per_expert

    def reset_parameters(self) -> None:
        d = self.phi.shape[0]
        nn.init.normal_(self.phi, std=1.0 / math.sqrt(d))  # LeCun normal over the input dim
        for weight in (self.w1, self.w2):
            for expert in range(self.num_experts):  # Xavier, as MAE initialises its MLPs
                nn.init.xavier_uniform_(weight[expert])

    def routing(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dispatch (softmax over tokens) and combine (softmax over slots) weights."""
        phi = F.normalize(self.phi.reshape(self.phi.shape[0], -1), dim=0)
        logits = F.normalize(x, dim=-1) @ phi * self.scale  # (B, m, n*p)
        return logits.softmax(dim=1), logits.softmax(dim=2)

    def _experts(self, slots: torch.Tensor) -> torch.Tensor:
        """(n, rows, d) -> (n, rows, out): expert e's MLP on its rows, one bmm each."""
        hidden = slots @ self.w1 if self.b1 is None else torch.baddbmm(self.b1, slots, self.w1)
        hidden = self.drop1(self.act(hidden))
        return hidden @ self.w2 if self.b2 is None else torch.baddbmm(self.b2, hidden, self.w2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        n, p = self.num_experts, self.slots_per_expert
        dispatch, combine = self.routing(x)
        slots = dispatch.transpose(1, 2) @ x  # (B, n*p, d): mixtures of raw tokens
        # Expert e's slots of the whole batch as one matrix: (n, B*p, d).
        slots = slots.reshape(batch, n, p, -1).transpose(0, 1).reshape(n, batch * p, -1)
        outputs = self._experts(slots)
        outputs = outputs.reshape(n, batch, p, -1).transpose(0, 1).reshape(batch, n * p, -1)
        if self._shares is not None:
            self._shares.append(self.token_shares(combine))
        return self.drop2(combine @ outputs)

    @torch.no_grad()
    def token_shares(self, combine: torch.Tensor) -> torch.Tensor:
        """(B, m, n): each expert's share of each output token (rows sum to 1)."""
        return combine.reshape(*combine.shape[:2], self.num_experts, -1).sum(dim=3).float()

    @contextmanager
    def recording(self) -> Iterator[list[torch.Tensor]]:
        """Collect `token_shares` of every forward pass inside the block."""
        self._shares = shares = []
        try:
            yield shares
        finally:
            self._shares = None


def soft_moe_layer(num_experts: int, slots_per_expert: int):
    """A `mlp_layer` for timm's `Block`."""
    return partial(SoftMoE, num_experts=num_experts, slots_per_expert=slots_per_expert)
