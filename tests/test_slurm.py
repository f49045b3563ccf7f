"""The workflow on a real single-node SLURM cluster, through the cluster profile.

`make test-slurm` runs this module alone (`.ci/run` runs it after the default tests): it
needs root, since `tests/slurm/cluster.sh` installs SLURM with apt when missing and starts
munged, slurmctld and slurmd. The tiny config (the six real example pairs, index to
pretraining) runs once locally and once through `sbatch` with `profiles/slurm`, whose
account and partitions are replaced by the test cluster's; the outputs must be equal byte
for byte. A GPU request is then checked in the `sbatch` call that the plugin makes: one
GPU request, the rule's CPUs per GPU, and a clean, immediate rejection on this node
without GPUs.
"""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from runner import REPO, load_yaml, snakemake

pytestmark = pytest.mark.slurm
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
# Outputs that must not depend on where a job ran (logs, benchmarks and timings do).
COMPARED = (
    "results/index/examples.parquet",
    "results/descriptors/examples.parquet",
    "results/sample/examples",
    "results/shards/examples/thematic_climatic",
    "results/pretrain/examples/thematic_climatic/moe/seed0/encoder.safetensors",
    "results/pretrain/examples/thematic_climatic/moe/seed0/model.safetensors",
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Path:
    if os.geteuid() != 0:
        pytest.fail("the SLURM test needs root (apt, /etc/slurm, daemons): run it in CI")
    state = tmp_path_factory.mktemp("slurm-state")
    subprocess.run(["bash", str(CLUSTER), "up", str(state)], check=True, timeout=900)
    yield state
    subprocess.run(["bash", str(CLUSTER), "down", str(state)], timeout=120)


def tiny_config(folder: Path, **pretrain) -> Path:
    tiny = load_yaml("config.yaml")
    tiny["study"].update(archives=["examples"], sample=["examples"], shard=["examples"])
    tiny["sampling"].update(size=2, climate_level="group", landcover_level="1")
    tiny["pretrain"].update(archives=["examples"], samplers=["thematic_climatic"], steps=3,
                            batch_size=2, checkpoint_every=2, **pretrain)  # fmt: skip
    tiny["pretrain"]["models"] = {"moe": {"preset": "csmoe_tiny"}}
    tiny["pretrain"]["seeds"] = [0]
    tiny["evaluation"]["archives"] = []  # the six examples have no validation split
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny))
    return path


def cluster_profile(folder: Path) -> Path:
    """profiles/slurm with the test cluster's partition, no account, fast status checks."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"]["slurm_partition"] = "debug"
    del profile["default-resources"]["slurm_account"]
    profile["set-resources"] = {
        rule: dict(values, slurm_partition="debug")
        for rule, values in profile.get("set-resources", {}).items()
    }
    profile.update({
        "slurm-no-account": True,
        "slurm-status-command": "squeue",  # no slurmdbd here: sacct loses finished jobs
        "slurm-init-seconds-before-status-checks": 2,
        "slurm-keep-successful-logs": True,
        "jobs": 2,
        "latency-wait": 5,
    })  # fmt: skip
    target = folder / "profile"
    target.mkdir()
    (target / "config.yaml").write_text(yaml.safe_dump(profile))
    return target


def same_files(left: Path, right: Path) -> list[str]:
    """Relative paths that differ (or exist on one side only) under two folders/files."""
    if left.is_file():
        return [] if filecmp.cmp(left, right, shallow=False) else [str(left)]
    differ = []
    names = {p.relative_to(left) for p in left.rglob("*") if p.is_file()}
    names |= {p.relative_to(right) for p in right.rglob("*") if p.is_file()}
    for name in sorted(names):
        a, b = left / name, right / name
        if not (a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False)):
            differ.append(str(name))
    return differ


def test_cpu_rules_through_slurm_equal_a_local_run(cluster: Path, tmp_path: Path) -> None:
    # Both runs in the same working directory (the index stores absolute paths, which
    # flow into the manifests and the provenance hashes): locally first, moved aside.
    remote, local = tmp_path / "work", tmp_path / "local"
    remote.mkdir()
    result = snakemake("--cores", "2", "--configfile", str(tiny_config(remote)), cwd=remote)
    assert result.returncode == 0, result.stderr
    remote.rename(local)
    remote.mkdir()
    profile = cluster_profile(remote)
    result = snakemake("--profile", str(profile), "--configfile", str(tiny_config(remote)),
                       "--verbose", cwd=remote, timeout=900)  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    submitted = re.findall(r"sbatch call: (.*)", log)
    job_ids = set(re.findall(r"submitted with SLURM jobid (\d+)", log))
    jobs = int(re.search(r"(\d+) of \1 steps \(100%\) done", log).group(1))
    # Every job but the local `all` went through sbatch and got a SLURM job id.
    assert len(submitted) == len(job_ids) == jobs - 1, log[-3000:]
    shards = next(c for c in submitted if "write_shards" in c)
    assert "--cpus-per-task=2" in shards and "-p debug" in shards  # the rule's threads
    for path in COMPARED:
        assert same_files(local / path, remote / path) == [], path


def test_gpu_request_is_made_once_and_rejected_cleanly(cluster: Path, tmp_path: Path) -> None:
    profile = cluster_profile(tmp_path)
    config = tiny_config(tmp_path, gpus=2, threads=3, loader_workers=1)
    target = "results/pretrain/examples/thematic_climatic/moe/seed0/encoder.safetensors"
    # The inputs locally, then only the GPU job through SLURM.
    result = snakemake("--cores", "2", "--configfile", str(config), "--until", "write_shards",
                       cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = snakemake("--profile", str(profile), "--configfile", str(config), "--verbose",
                       target, cwd=tmp_path, timeout=300)  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode != 0, "a GPU job cannot run on a node without GPUs"
    call = re.search(r"sbatch call: (.*)", log).group(1)
    assert call.count("--gpus=2") == 1 and "--gres" not in call, call
    assert "--cpus-per-gpu=4" in call and "--cpus-per-task" not in call, call
    assert "sbatch" in log and "error" in log.lower()
