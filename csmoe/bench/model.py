"""Dense vs Soft MoE, side by side in one run: parameters, GMAC and measured throughput.

- inference: S2-only encoder pass at 224 px, dense ViT-B/16 (the CSMAE encoder with patch
  16) vs ``csmoe_b16``;
- pretraining: one full CSMAE step (both sensors, 50 % masking, 4 reconstructions,
  contrastive term, backward, AdamW) at 120 px, ``csmae_b`` vs ``csmoe_b15``.
On the CPU in float32; where a GPU is available also in bfloat16 autocast, eager and with
``torch.compile``. `n` is the batch size.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from csmoe.models import create_model
from csmoe.models.flops import encoder_cost
from csmoe.models.presets import _vit_b

STEPS, WARMUP = 3, 1


def _timed(step, batch: int, device: str) -> float:
    for _ in range(WARMUP):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(STEPS):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return batch * STEPS / (time.perf_counter() - start)


def _step_gmac(model, img: int) -> float:
    s1, s2 = torch.randn(1, 2, img, img), torch.randn(1, 10, img, img)
    with FlopCounterMode(display=False) as counter:
        model(s1, s2)["loss"]
    return counter.get_total_flops() / 2 / 1e9


def inference(model, batch: int, device: str, dtype, compiled: bool) -> float:
    encoder = model.encoder.to(device).eval()
    run = torch.compile(encoder) if compiled else encoder
    x = torch.randn(batch, 10, 224, 224, device=device)

    def step() -> None:
        with torch.no_grad(), torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32):
            run(x, "s2")

    return _timed(step, batch, device)


def pretraining(model, batch: int, device: str, dtype, compiled: bool) -> float:
    model = model.to(device).train()
    run = torch.compile(model) if compiled else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95))
    s1 = torch.randn(batch, 2, 120, 120, device=device)
    s2 = torch.randn(batch, 10, 120, 120, device=device)

    def step() -> None:
        with torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32):
            loss = run(s1, s2)["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return _timed(step, batch, device)


def bench_model(n: int, workdir: Path, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    models = {
        "inference": {"dense_vit_b16": _vit_b(16), "csmoe_b16": create_model("csmoe_b16")},
        "pretraining": {"csmae_b": create_model("csmae_b"), "csmoe_b15": create_model("csmoe_b15")},
    }
    result: dict = {"batch": n, "torch": torch.__version__}
    for task, pair in models.items():
        for name, model in pair.items():
            entry = {"params": sum(p.numel() for p in model.encoder.parameters())}
            if task == "inference":
                entry["gmac"] = encoder_cost(model.encoder, 224)["gmac"]
            else:
                entry["gmac_per_sample"] = _step_gmac(model, 120)
            measure = inference if task == "inference" else pretraining
            entry["cpu_fp32_samples_per_s"] = measure(model, n, "cpu", torch.float32, False)
            if torch.cuda.is_available():
                for compiled in (False, True):
                    key = f"gpu_bf16_{'compiled' if compiled else 'eager'}_samples_per_s"
                    entry[key] = measure(model, 256, "cuda", torch.bfloat16, compiled)
                model.to("cpu")
            result.setdefault(task, {})[name] = entry
        dense, moe = list(result[task].values())
        result[task]["speedup_cpu"] = (
            moe["cpu_fp32_samples_per_s"] / dense["cpu_fp32_samples_per_s"]
        )
    result["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return result
