"""Processes of one run: started by torchrun (NCCL on GPUs, gloo on CPUs) or alone.

`torchrun --nproc-per-node K -m csmoe pretrain ...` sets RANK, WORLD_SIZE and LOCAL_RANK;
without them the run is a single process and nothing here talks to other processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from csmoe.devices import pick_device


@dataclass(frozen=True)
class Processes:
    rank: int
    world_size: int
    device: torch.device

    @property
    def main(self) -> bool:
        """Only the main process writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start(device_choice: str) -> Processes:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = pick_device(device_choice)
    if world == 1:
        return Processes(0, 1, device)
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), device)


def stop(processes: Processes) -> None:
    if processes.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(processes: Processes) -> None:
    if processes.distributed:
        dist.barrier()


def mean_over_processes(values: torch.Tensor, processes: Processes) -> torch.Tensor:
    if processes.distributed:
        values = values.clone()
        dist.all_reduce(values)
        values /= processes.world_size
    return values


def sum_over_processes(values: torch.Tensor, processes: Processes) -> torch.Tensor:
    if processes.distributed:
        values = values.clone()
        dist.all_reduce(values)
    return values
