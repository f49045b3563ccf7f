"""Interrupted and repeated runs: no orphan job after a killed Snakemake, the README's
resume commands, and a rebuilt shard folder that reruns its dependents only when its
bytes changed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from runner import BIN, REPO, load_yaml, snakemake

from csmoe.bigearthnet.examples import extract_examples

ARGS = ("--cores", "1", "--configfile", "tiny.yaml")
SHARDS = "results/shards/examples/thematic_climatic"
ENCODER = "results/pretrain/examples/thematic_climatic/moe/seed0/encoder.safetensors"


def tiny_config(folder: Path, steps: int = 3) -> None:
    s1_root, s2_root = extract_examples(folder / "examples")
    tiny = load_yaml("config.yaml")
    tiny["archives"]["examples"] = {"kind": "bigearthnet-v1", "s1_root": str(s1_root),
                                    "s2_root": str(s2_root), "landcover": "labels"}  # fmt: skip
    only = ["thematic_climatic"]
    tiny["study"].update(archives=["examples"], sample=["examples"], shard=["examples"],
                         samplers=only, shard_samplers=list(only))  # fmt: skip
    tiny["sampling"].update(size=2, climate_level="group", landcover_level="1")
    tiny["pretrain"].update(archives=["examples"], samplers=["thematic_climatic"], steps=steps,
                            batch_size=2, checkpoint_every=2, seeds=[0])  # fmt: skip
    tiny["pretrain"]["models"] = {"moe": {"preset": "csmoe_tiny"}}
    tiny["evaluation"]["archives"] = []
    (folder / "tiny.yaml").write_text(yaml.safe_dump(tiny))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """Index to pretraining of the six examples, finished."""
    folder = tmp_path_factory.mktemp("finished run")
    tiny_config(folder)
    result = snakemake(ENCODER, *ARGS, "--directory", str(folder), cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def copy_run(finished: Path, to: Path) -> Path:
    """The finished run elsewhere, with its time stamps and Snakemake's records (its
    archive still read from the finished run's folder: the same absolute paths)."""
    shutil.copytree(finished, to, symlinks=True)
    return to


def planned(folder: Path, *extra: str) -> str:
    result = snakemake(ENCODER, "-n", *extra, *ARGS, "--directory", str(folder), cwd=folder)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_a_shard_folder_rebuilt_with_the_same_bytes_reruns_nothing(
    finished: Path, tmp_path: Path
) -> None:
    run = copy_run(finished, tmp_path / "run")
    time.sleep(1.1)  # the rebuilt folder is newer than every output below it
    rebuilt = snakemake(SHARDS, "--forcerun", "write_shards", *ARGS, "--directory", str(run),
                        cwd=run)  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Nothing to be done" in planned(run)


def test_a_shard_folder_rebuilt_with_other_bytes_reruns_its_dependents(
    finished: Path, tmp_path: Path
) -> None:
    run = copy_run(finished, tmp_path / "run")
    tiny = yaml.safe_load((run / "tiny.yaml").read_text())
    tiny["shards"]["shard_size"] = 1  # two shard files instead of one
    (run / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    rebuilt = snakemake(SHARDS, *ARGS, "--directory", str(run), cwd=run)
    assert rebuilt.returncode == 0, rebuilt.stderr
    log = planned(run)
    assert "rule pretrain:" in log and "Updated input files" in log, log


def csmoe_jobs(folder: Path, command: bytes = b"") -> list[int]:
    """PIDs of `python -m csmoe [command]` processes working in `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"csmoe" in argv and cwd == str(folder) and (not command or command in argv):
            found.append(int(entry.name))
    return found


def test_a_killed_run_leaves_no_job_behind_and_goes_on(tmp_path: Path) -> None:
    """SIGKILL of Snakemake while a long pretraining job runs: the job ends too; README's
    resume commands (`--unlock`, then the run again with `--rerun-incomplete`) finish."""
    folder = tmp_path / "killed run"
    folder.mkdir()
    tiny_config(folder, steps=20_000)
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.Popen(
        [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), ENCODER, *ARGS,
         "--directory", str(folder)],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not (jobs := csmoe_jobs(folder, b"pretrain")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert jobs, "the pretraining job did not start"
    time.sleep(2)
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 20
    while (left := csmoe_jobs(folder)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"jobs left running: {left}"
    locked = snakemake(ENCODER, *ARGS, "--directory", str(folder), cwd=folder)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    unlock = snakemake(*ARGS, "--unlock", "--directory", str(folder), cwd=folder)
    assert unlock.returncode == 0, unlock.stderr
    tiny_config(folder)  # the same run, shorter
    again = snakemake(ENCODER, "--rerun-incomplete", *ARGS, "--directory", str(folder),
                      cwd=folder)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert (folder / ENCODER).is_file()
