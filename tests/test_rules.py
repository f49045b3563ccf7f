"""What the rules look up in the config (csmoe.rules), without Snakemake."""

from __future__ import annotations

import shlex
from types import SimpleNamespace

from runner import load_yaml

from csmoe.rules import descriptors, evaluation, index, pretrain, sampling, targets


def test_alpha_goes_to_the_thematic_climatic_sampler_only() -> None:
    config = load_yaml("config.yaml")
    for sampler in ("thematic_climatic", "random", "full"):
        wildcards = SimpleNamespace(archive="synthetic", sampler=sampler)
        args = shlex.split(sampling.arguments(config, wildcards))
        assert ("--alpha" in args) == (sampler == "thematic_climatic"), sampler
        assert ("--size" in args) == (sampler != "full"), sampler


def test_paths_with_spaces_stay_one_argument() -> None:
    config = load_yaml("config.yaml")
    config["archives"]["mine"] = {"kind": "bigearthnet-v2", "root": "/data/my archive"}
    args = shlex.split(index.arguments(config, SimpleNamespace(archive="mine")))
    assert args[args.index("--root") + 1] == "/data/my archive"
    config["descriptors"]["corine_raster"] = "/data/CLC 2018/clc.tif"
    wildcards = SimpleNamespace(archive="synthetic")
    args = shlex.split(descriptors.arguments(config, wildcards))
    assert args[args.index("--corine-raster") + 1] == "/data/CLC 2018/clc.tif"
    assert descriptors.inputs(config, wildcards)["corine"] == "/data/CLC 2018/clc.tif"


def test_embedded_archives_are_read_from_the_folders_the_workflow_builds() -> None:
    config = load_yaml("config.yaml")
    wildcards = SimpleNamespace(archive="synthetic")
    assert index.inputs(config, wildcards) == ["resources/synthetic/archive"]
    args = shlex.split(index.arguments(config, wildcards))
    assert args[0] == "bigearthnet-v1" and args[args.index("--check") + 1] == "full"
    assert "--root" not in args and "resources/synthetic/archive/Reference_Maps" in args


def test_study_targets_are_listed_once() -> None:
    config = load_yaml("config.yaml")
    outputs = targets.study_outputs(config)
    assert len(outputs) == len(set(outputs))
    assert "results/shards/synthetic/thematic_climatic" in outputs
    assert "results/study/table.md" in outputs
    runs = pretrain.run_dirs(config)
    assert all(f"{run}/encoder.safetensors" in outputs for run in runs)


def test_evaluations_list_every_run_and_both_baselines() -> None:
    """Every run (model x sampler x seed), a random-weight baseline per model and seed,
    and one band-statistics baseline per archive."""
    config = load_yaml("config.yaml")
    files = evaluation.evaluations(config)
    runs = evaluation.evaluated_keys(config)
    models, seeds = config["pretrain"]["models"], config["pretrain"]["seeds"]
    archives = len(config["evaluation"]["archives"])
    assert len(runs) == archives * 2 * len(models) * len(seeds)  # two samplers
    assert len(files) == len(runs) + archives * (len(models) * len(seeds) + 1)
    assert files[: len(runs)] == [f"results/evaluate/{a}/{s}/{m}/seed{n}/metrics.json"
                                  for a, s, m, n in runs]  # fmt: skip
    assert "results/evaluate/synthetic/baseline/random_init_csmoe_tiny/seed1/metrics.json" in files


def test_one_seed_by_default_the_master_seed() -> None:
    config = load_yaml("config.yaml")
    del config["pretrain"]["seeds"]
    config["seed"] = 7
    assert pretrain.seeds(config) == [7]
    assert all(run.endswith("/seed7") for run in pretrain.run_dirs(config))


def test_pretraining_threads_and_launcher_follow_the_gpus() -> None:
    config = load_yaml("config.yaml")
    config["pretrain"].update(gpus=4, threads=6, loader_workers=2)
    assert pretrain.job_threads(config) == 32
    assert pretrain.process_threads(config, 32, {"gpu": 4}) == 6
    # after the job's interpreter: torchrun as its module, so no other Python is involved
    assert pretrain.launcher({"gpu": 4}) == (
        "-m torch.distributed.run --standalone --nproc-per-node 4 -m csmoe"
    )
    assert pretrain.launcher({"gpu": 1}) == "-m csmoe"


def test_the_non_finite_policy_reaches_index_and_shards() -> None:
    from csmoe.rules import shards

    config = load_yaml("config.yaml")
    config["index"]["non_finite"] = "repair"
    index_args = shlex.split(index.arguments(config, SimpleNamespace(archive="synthetic")))
    shard_args = shlex.split(shards.arguments(config))
    for args in (index_args, shard_args):
        assert args[args.index("--non-finite") + 1] == "repair"
