"""Soft Mixture-of-Experts layer (Puigcerver et al., ICLR 2024) for timm ViT blocks.

For the token sequence X (m x d) of ONE sample and sensor stream (routing never mixes
samples), slot vectors Phi (d x n*p) and a learnable scale give the logits
``<l2norm(x_i), l2norm(phi_j)> * scale``. Dispatch weights D are a softmax over the
token axis (each slot is a convex combination of tokens); combine weights C a softmax
over all n*p slots (each output token a convex combination of slot outputs). Slot inputs
mix the un-normalised tokens; expert e (an MLP shaped like the dense one, weights stacked
over experts and applied with batched matrix products) processes its p slots.

Slots: a fixed number per expert, or a `slot_ratio` of the token count (MAE encoders
see only the visible tokens): ceil(ratio * m / n) per expert, the first ones of Phi.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn


class SoftMoE(nn.Module):
    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        act_layer: type[nn.Module] = nn.GELU,
        drop: float = 0.0,
        *,
        num_experts: int = 4,
        slots_per_expert: int = 1,
        slot_ratio: float | None = None,
        **_: object,  # timm passes Mlp keyword arguments that vary across releases
    ) -> None:
        super().__init__()
        hidden = hidden_features or 4 * in_features
        out = out_features or in_features
        self.num_experts, self.slots_per_expert, self.slot_ratio = (
            num_experts, slots_per_expert, slot_ratio,
        )  # fmt: skip
        self.phi = nn.Parameter(torch.empty(in_features, num_experts, slots_per_expert))
        self.scale = nn.Parameter(torch.ones(()))
        self.w1 = nn.Parameter(torch.empty(num_experts, in_features, hidden))
        self.b1 = nn.Parameter(torch.zeros(num_experts, 1, hidden))
        self.w2 = nn.Parameter(torch.empty(num_experts, hidden, out))
        self.b2 = nn.Parameter(torch.zeros(num_experts, 1, out))
        self.act = act_layer()
        self.drop = nn.Dropout(drop)
        self.record: bool = False
        self.sensor: str | None = None
        self.token_mass: dict[str, torch.Tensor] = {}
        self.reset_parameters()

    def reset_parameters(self) -> None:
        d = self.phi.shape[0]
        nn.init.normal_(self.phi, std=1.0 / math.sqrt(d))  # LeCun normal over the input dim
        for weight in (self.w1, self.w2):
            for expert in range(self.num_experts):  # Xavier, as MAE initialises its MLPs
                nn.init.xavier_uniform_(weight[expert])

    def slots_for(self, tokens: int) -> int:
        if self.slot_ratio is None:
            return self.slots_per_expert
        wanted = math.ceil(self.slot_ratio * tokens / self.num_experts)
        return max(1, min(self.slots_per_expert, wanted))

    def routing(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dispatch (softmax over tokens) and combine (softmax over slots) weights."""
        p = self.slots_for(x.shape[1])
        phi = F.normalize(self.phi[:, :, :p].reshape(self.phi.shape[0], -1), dim=0)
        logits = F.normalize(x, dim=-1) @ phi * self.scale  # (B, m, n*p)
        return logits.softmax(dim=1), logits.softmax(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        dispatch, combine = self.routing(x)
        slots = dispatch.transpose(1, 2) @ x  # (B, n*p, d): mixtures of raw tokens
        n, p = self.num_experts, dispatch.shape[-1] // self.num_experts
        # Expert e's slots of the whole batch as one matrix: (n, B*p, d), one bmm each.
        slots = slots.reshape(batch, n, p, -1).transpose(0, 1).reshape(n, batch * p, -1)
        hidden = self.act(torch.baddbmm(self.b1, slots, self.w1))
        outputs = torch.baddbmm(self.b2, self.drop(hidden), self.w2)
        outputs = outputs.reshape(n, batch, p, -1).transpose(0, 1).reshape(batch, n * p, -1)
        if self.record and self.sensor is not None:
            self._record(combine)
        return self.drop(combine @ outputs)

    @torch.no_grad()
    def _record(self, combine: torch.Tensor) -> None:
        """Share of this sensor's token outputs each expert contributes (sums to 1).

        Dispatch weights sum to one per slot by construction, so expert use is read from
        the combine weights: how much of every output token comes from each expert.
        """
        mass = combine.reshape(*combine.shape[:2], self.num_experts, -1).sum(dim=(0, 1, 3))
        total = self.token_mass.get(self.sensor, torch.zeros_like(mass))
        self.token_mass[self.sensor] = total + mass.float()


def soft_moe_layer(num_experts: int, slots_per_expert: int, slot_ratio: float | None = None):
    """A `mlp_layer` for timm's `Block`."""
    return partial(
        SoftMoE, num_experts=num_experts, slots_per_expert=slots_per_expert, slot_ratio=slot_ratio
    )
