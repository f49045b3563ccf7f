"""Mistakes caught before the expensive part: the preflight and the config's one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.transform import from_origin
from runner import REPO, load_yaml, snakemake

from csmoe import config as csmoe_config
from csmoe import preflight
from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT
from csmoe.errors import InputError


def test_an_unedited_study_config_names_every_missing_path() -> None:
    study = load_yaml("study.yaml")
    problems = preflight.input_problems(study)
    expected = {
        "archives.bigearthnet_v1.s1_root", "archives.bigearthnet_v1.s2_root",
        "archives.bigearthnet_v2.root", "archives.ssl4eo_s12.root",
        "descriptors.corine_raster", "descriptors.corine_legend",
        "descriptors.worldcover_tiles", "geobench.root",
    }  # fmt: skip
    assert {p.split(": ")[0] for p in problems} == expected
    assert all("does not exist" in p for p in problems)
    result = subprocess.run([sys.executable, "-m", "csmoe", "check-config",
                             str(REPO / "config" / "study.yaml")],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2
    assert all(key in result.stderr for key in expected), result.stderr


def write_raster(path: Path, crs: str | None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8",
                       crs=crs, transform=from_origin(0, 4, 1, 1)) as dst:  # fmt: skip
        dst.write(np.ones((4, 4), np.uint8), 1)
    return path


def test_files_that_are_not_what_their_key_says_are_named(tmp_path: Path) -> None:
    legend = tmp_path / "clc_legend.csv"
    legend.write_text("value,name\n1,urban\n")
    config = load_yaml("config.yaml")
    config["study"]["archives"] = ["synthetic", "v2"]
    config["archives"]["v2"] = {"kind": "bigearthnet-v2", "root": str(tmp_path)}
    config["descriptors"].update(corine_raster=str(legend), corine_legend=str(legend),
                                 koppen_raster=str(write_raster(tmp_path / "kg.tif", None)),
                                 koppen_legend=str(legend))  # fmt: skip
    problems = preflight.input_problems(config)
    assert f"descriptors.corine_raster: {legend}: not a GeoTIFF (no TIFF signature)" in problems
    assert any(p.startswith("descriptors.corine_legend: ") and "code,symbol" in p
               for p in problems)  # fmt: skip
    assert f"descriptors.koppen_raster: {tmp_path / 'kg.tif'}: raster has no CRS" in problems
    assert any(p.startswith("archives.v2.root: ") and "lacks metadata.parquet" in p
               for p in problems)  # fmt: skip
    assert len(problems) == 5  # and the Köppen legend


def test_gpus_asked_for_must_be_visible(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # whatever this machine holds: none
    config = load_yaml("config.yaml")
    config["pretrain"]["gpus"] = 4
    problems = preflight.gpu_problems(config)
    assert len(problems) == 1 and problems[0].startswith("pretrain.gpus: 4 GPU(s) per job")
    assert "0 visible" in problems[0] and "set pretrain.gpus: 0" in problems[0]
    # Only the GPU jobs about to run count.
    assert preflight.gpu_problems(config, {"pretrain": 4, "write_shards": 0}) == problems
    assert preflight.gpu_problems(config, {"write_shards": 0, "build_index": 0}) == []
    config["pretrain"]["gpus"] = 0
    assert preflight.gpu_problems(config) == []


def test_a_level_written_as_a_number_is_the_level() -> None:
    config = load_yaml("config.yaml")
    config["sampling"]["landcover_level"] = 2  # `landcover_level: 2`, unquoted
    csmoe_config.validate(config)
    assert config["sampling"]["landcover_level"] == "2"


def test_a_misspelt_key_is_named_with_the_nearest_known_one() -> None:
    config = load_yaml("config.yaml")
    config["sampling"]["landcover_levl"] = config["sampling"].pop("landcover_level")
    with pytest.raises(InputError) as raised:
        csmoe_config.validate(config)
    message = str(raised.value)
    assert "config key sampling: unknown key 'landcover_levl'" in message
    assert "did you mean 'landcover_level'?" in message
    assert "\n" not in message and len(message) < 200


def test_the_workflow_stops_before_any_job_naming_every_problem(
    examples: Path, tmp_path: Path, monkeypatch
) -> None:
    """A run (not a dry run) whose CORINE raster is its legend and which asks for GPUs
    this machine lacks: one message naming both, and no job started."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    legend = tmp_path / "legend.csv"
    legend.write_text("code,symbol\n1,111\n")
    tiny = load_yaml("config.yaml")
    tiny["archives"]["examples"] = {"kind": "bigearthnet-v1", "landcover": "corine",
                                    "s1_root": str(examples / S1_ROOT),
                                    "s2_root": str(examples / S2_ROOT)}  # fmt: skip
    tiny["study"].update(archives=["examples"], sample=["examples"], shard=["examples"])
    tiny["pretrain"].update(archives=["examples"], samplers=["thematic_climatic"], gpus=2,
                            seeds=[0], models={"moe": {"preset": "csmoe_tiny"}})  # fmt: skip
    tiny["evaluation"]["archives"] = []
    tiny["descriptors"].update(corine_raster=str(legend), corine_legend=str(legend))
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    encoder = "results/pretrain/examples/thematic_climatic/moe/seed0/encoder.safetensors"
    result = snakemake(encoder, "--cores", "1", "--configfile", "tiny.yaml", "--directory",
                       str(tmp_path), cwd=tmp_path)  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "2 problem(s) with the config's inputs" in log, log
    assert f"descriptors.corine_raster: {legend}: not a GeoTIFF" in log
    assert "pretrain.gpus: 2 GPU(s) per job asked for" in log
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()
    # A run of the data stages alone plans no GPU job: only the raster is named.
    result = snakemake("results/index/examples.parquet", "--cores", "1", "--configfile",
                       "tiny.yaml", "--directory", str(tmp_path), cwd=tmp_path)  # fmt: skip
    log = result.stdout + result.stderr
    assert "1 problem(s) with the config's inputs" in log and "gpus" not in log, log
