"""Embeddings of every training process, for a contrastive loss over the global batch.

Under ``torchrun`` (a default process group with more than one process) `gather_rows`
concatenates the rows of all processes in rank order, with gradients flowing back to
each; in a single process it returns its input. The model calls it itself, so nothing
has to be injected into it by the training loop.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


class _GatherWithGrad(torch.autograd.Function):
    """All processes' rows, concatenated in rank order; gradients flow back to each.

    Every process computes the same loss on the gathered rows, and DDP averages the
    parameter gradients over processes; summing the row gradients of all processes in
    the backward pass makes that average the gradient of one process seeing it all.
    """

    @staticmethod
    def forward(ctx, rows: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(rows) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, rows.contiguous())
        ctx.rank, ctx.rows = dist.get_rank(), rows.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather_rows(rows: torch.Tensor) -> torch.Tensor:
    """Rows of every process (rank order, with gradients), or `rows` in one process."""
    return _GatherWithGrad.apply(rows) if distributed() else rows
