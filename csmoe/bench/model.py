"""Dense vs Soft MoE, side by side in one run: cost, throughput, memory, utilisation.

Three tasks, each a dense model and its Soft MoE counterpart:

- ``inference``: one S2 encoder pass at 224 px, ``csmae_b16`` (a dense ViT-B/16) vs
  ``csmoe_b16``;
- ``layer``: the MLP of one block vs the Soft MoE that replaces it, at that inference
  shape (197 tokens of width 768);
- ``pretraining``: one full CSMAE step at 120 px (both sensors, 50 % masking, four
  reconstructions, contrastive term, backward, AdamW), ``csmae_b`` vs ``csmoe_b15``.

On the CPU: float32 at batch `n`. On a GPU (when there is one) also bfloat16 autocast,
eager and ``torch.compile``, at batch 512 (inference, layer) and 256 (pretraining). Every
measurement runs `warmup` untimed steps (the first one's wall time is `first_step_s`:
with ``torch.compile`` that is the compile time) and then `steps` timed ones: samples/s,
ms per step, peak GPU memory, and achieved TFLOP/s with the FLOPs counted by
``csmoe.models.flops`` (attention included; forward and backward for training), as MFU
against the device's dense bf16 tensor peak where the device is known.

Imports torch, timm and ``csmoe.models`` only: it runs where just the training stack is
installed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from csmoe.devices import autocast, timed
from csmoe.models import create_model
from csmoe.models.flops import count_gmac

PAIRS = {  # task: (dense preset, Soft MoE preset)
    "inference": ("csmae_b16", "csmoe_b16"),
    "layer": ("csmae_b16", "csmoe_b16"),
    "pretraining": ("csmae_b", "csmoe_b15"),
}
TINY_PAIRS = dict.fromkeys(PAIRS, ("csmae_tiny", "csmoe_tiny"))  # for quick checks
GPU_BATCH = {"inference": 512, "layer": 512, "pretraining": 256}
# Dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from NVIDIA's data sheets; the
# first name contained in the device's name applies.
BF16_PEAK_TFLOPS = (
    ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.4), ("H200", 989.4),
    ("GH200", 989.4), ("A100", 312.0), ("L40S", 362.1), ("A10G", 70.0), ("L4", 121.0),
)  # fmt: skip


def bf16_peak_tflops(device_name: str) -> float | None:
    return next((peak for name, peak in BF16_PEAK_TFLOPS if name in device_name), None)


def first_moe_block(encoder) -> int:
    """The first block with a Soft MoE (its dense twin has the same index); else 0."""
    layers = [i for i, block in enumerate(encoder.blocks) if hasattr(block.mlp, "phi")]
    return layers[0] if layers else 0


class Workload:
    """One task of one preset: a step function to time and the FLOPs of one sample."""

    def __init__(self, task: str, preset: str) -> None:
        self.task, self.preset = task, preset
        self.model = create_model(preset)
        encoder = self.model.encoder
        self.img = 120 if task == "pretraining" else encoder.img_size
        self.tokens = (self.img // encoder.patch_size) ** 2 + 1
        self.module = self.model
        if task == "layer":
            self.module = encoder.blocks[first_moe_block(encoder)].mlp
        counted = self.module if task == "layer" else encoder
        self.params = sum(p.numel() for p in counted.parameters())

    def inputs(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        if self.task == "layer":
            width = self.model.encoder.embed_dim
            return (torch.randn(batch, self.tokens, width, device=device),)
        if self.task == "inference":
            return (torch.randn(batch, 10, self.img, self.img, device=device),)
        side = self.img
        return (torch.randn(batch, 2, side, side, device=device),
                torch.randn(batch, 10, side, side, device=device))  # fmt: skip

    def step_function(self, batch: int, device: torch.device, compiled: bool) -> Callable:
        """One step on `device` (bf16 autocast on CUDA, float32 on the CPU)."""
        module = self.module.to(device)
        module.train(self.task == "pretraining")
        inputs = self.inputs(batch, device)
        if self.task != "pretraining":
            forward = self.model.encoder.embedding if self.task == "inference" else module
            run = torch.compile(forward) if compiled else forward
            extra = ("s2",) if self.task == "inference" else ()

            @torch.no_grad()
            def step() -> None:
                with autocast(device):
                    run(*inputs, *extra)

            return step
        run = torch.compile(module) if compiled else module
        optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4, betas=(0.9, 0.95),
                                      fused=device.type == "cuda")  # fmt: skip

        def step() -> None:
            with autocast(device):
                loss = run(*inputs)["loss"]
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        return step

    def flops_per_sample(self) -> float:
        """Forward FLOPs (and backward for pretraining) of one sample, attention included."""
        module = self.module.cpu()
        inputs = self.inputs(1, "cpu")
        module.train(self.task == "pretraining")

        def run() -> None:
            if self.task == "pretraining":
                module(*inputs)["loss"].backward()
                module.zero_grad(set_to_none=True)
                return
            with torch.no_grad():
                if self.task == "inference":
                    self.model.encoder(*inputs, "s2")
                else:
                    module(*inputs)

        return 2e9 * count_gmac(self.model, run)


def measure(step: Callable, batch: int, device: torch.device, steps: int, warmup: int) -> dict:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    first, seconds = timed(step, device, steps, warmup)
    result = {"batch": batch, "samples_per_s": batch / seconds, "ms_per_step": seconds * 1e3,
              "first_step_s": first}  # fmt: skip
    if device.type == "cuda":
        result["peak_mem_gb"] = torch.cuda.max_memory_allocated(device) / 1e9
    return result


def with_utilisation(result: dict, flops_per_sample: float, peak_tflops: float | None) -> dict:
    tflops = result["samples_per_s"] * flops_per_sample / 1e12
    result["tflops"] = tflops
    result["mfu"] = tflops / peak_tflops if peak_tflops else None
    return result


def modes(cpu_batch: int, task: str) -> list[tuple[str, torch.device, bool, int]]:
    """(name, device, compiled, batch) of every measurement on this machine."""
    runs = [("cpu_fp32", torch.device("cpu"), False, cpu_batch)]
    if torch.cuda.is_available():
        runs += [
            (f"gpu_bf16_{name}", torch.device("cuda"), compiled, GPU_BATCH[task])
            for name, compiled in (("eager", False), ("compiled", True))
        ]
    return runs


def bench_model(n: int, workdir: Path, seed: int = 0, *, steps: int = 10, warmup: int = 3,
                tiny: bool = False, tasks: list[str] | None = None) -> dict:  # fmt: skip
    torch.manual_seed(seed)
    device_name = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    peak = bf16_peak_tflops(device_name) if device_name else None
    result: dict = {"torch": torch.__version__, "gpu": device_name, "peak_bf16_tflops": peak,
                    "steps": steps, "warmup": warmup}  # fmt: skip
    for task, presets in (TINY_PAIRS if tiny else PAIRS).items():
        if tasks and task not in tasks:
            continue
        entries = {}
        for preset in presets:
            work = Workload(task, preset)
            flops = work.flops_per_sample()
            entry = {"params": work.params, "gflop_per_sample": flops / 1e9}
            for name, device, compiled, batch in modes(n, task):
                step = work.step_function(batch, device, compiled)
                timing = measure(step, batch, device, steps, max(warmup, 1))
                on_gpu = device.type == "cuda"
                entry[name] = with_utilisation(timing, flops, peak if on_gpu else None)
                del step
                if on_gpu:
                    torch.cuda.empty_cache()
            work.model.cpu()
            entries[preset] = entry
        dense, moe = (entries[p] for p in presets)
        entries["moe_over_dense"] = {
            name: moe[name]["samples_per_s"] / dense[name]["samples_per_s"]
            for name in dense
            if isinstance(dense[name], dict)
        }
        result[task] = entries
    return result
