#!/usr/bin/env bash
# Dense vs Soft MoE on one GPU: `python -m csmoe bench model` (bf16 eager and compiled,
# CPU float32 beside it), one JSON file per group of tasks, plus the device's identity,
# and `bench profile` of one eager pretraining step of each model.
#
#   tools/gpu-bench.sh OUT_DIR      from the repository root, on a machine with torch,
#                                   timm and safetensors (nothing else is needed)
#
# Compiling the pretraining steps alone takes several minutes, so the tasks run in two
# groups, each under its own time limit.
set -euo pipefail
out=${1:?usage: tools/gpu-bench.sh OUT_DIR}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/gpu.csv"
python -c "import torch, timm; print(torch.__version__, timm.__version__)" >"$out/versions.txt"
timeout 280 python -m csmoe bench model --task inference --task layer --size 4 --steps 20 \
	--workdir "$out/work" >"$out/bench_inference_layer.json"
timeout 300 python -m csmoe bench model --task pretraining --size 2 --steps 20 \
	--workdir "$out/work" >"$out/bench_pretraining.json"
# Where the eager pretraining step's time goes (kernels, host syncs, top operators).
timeout 120 python -m csmoe bench profile --size 2 --warmup 3 \
	--workdir "$out/work" >"$out/profile_pretraining.json"
