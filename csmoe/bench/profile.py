"""Where a step's time goes: a torch.profiler summary of the dense and Soft MoE steps.

For each task of ``bench model`` (default: pretraining), each preset of its pair runs
`warmup` eager steps and then `PROFILED_STEPS` steps under torch.profiler. Per step:
the wall time, the kernels launched on the GPU, the host-device synchronisations (a
step that waits for the GPU cannot queue the next one's kernels: with many small kernels
that is what makes a step launch-bound) and the operators with the most self time
(GPU time on CUDA, CPU time otherwise). GPU runs use bf16 autocast at ``bench model``'s
GPU batch; CPU runs float32 at batch `n`.

Imports torch, timm and ``csmoe.models`` only, like ``bench model``.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from csmoe.bench.model import GPU_BATCH, PAIRS, TINY_PAIRS, Workload

PROFILED_STEPS = 2
TOP = 15
SYNC_EVENTS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize",
               "aten::_local_scalar_dense")  # fmt: skip


def _self_ms(event, on_gpu: bool) -> float:
    micros = event.self_device_time_total if on_gpu else event.self_cpu_time_total
    return micros / 1e3 / PROFILED_STEPS


def profile_step(step, device: torch.device, warmup: int) -> dict:
    """Profile `PROFILED_STEPS` calls of `step` after `warmup` untimed ones."""
    on_gpu = device.type == "cuda"
    for _ in range(warmup):
        step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with profile(activities=activities) as trace:
        start = time.perf_counter()
        for _ in range(PROFILED_STEPS):
            step()
        if on_gpu:
            torch.cuda.synchronize(device)
        seconds = (time.perf_counter() - start) / PROFILED_STEPS
    averages = trace.key_averages()
    kernels = sum(1 for e in trace.events() if e.device_type.name == "CUDA")
    top = sorted(averages, key=lambda e: _self_ms(e, on_gpu), reverse=True)[:TOP]
    return {
        "step_ms": seconds * 1e3,
        "gpu_kernels_per_step": kernels / PROFILED_STEPS if on_gpu else None,
        "host_syncs_per_step": {
            e.key: e.count / PROFILED_STEPS for e in averages if e.key in SYNC_EVENTS
        },
        "top_self_ms": [
            {
                "op": e.key,
                "calls_per_step": e.count / PROFILED_STEPS,
                "self_ms_per_step": round(_self_ms(e, on_gpu), 3),
            }
            for e in top
        ],  # fmt: skip
    }


def bench_profile(n: int, workdir: Path, seed: int = 0, *, steps: int = 10, warmup: int = 3,
                  tiny: bool = False, tasks: list[str] | None = None) -> dict:  # fmt: skip
    """`steps` is unused (the profiled steps are fixed); the options are bench model's."""
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    on_gpu = device.type == "cuda"
    result: dict = {"torch": torch.__version__, "device": torch.cuda.get_device_name() if on_gpu
                    else "cpu", "profiled_steps": PROFILED_STEPS}  # fmt: skip
    for task in tasks or ["pretraining"]:
        result[task] = {}
        for preset in (TINY_PAIRS if tiny else PAIRS)[task]:
            work = Workload(task, preset)
            batch = GPU_BATCH[task] if on_gpu else n
            step = work.step_function(batch, device, compiled=False)
            result[task][preset] = {"batch": batch} | profile_step(step, device, warmup)
            del step
            work.model.cpu()
            if on_gpu:
                torch.cuda.empty_cache()
    return result
