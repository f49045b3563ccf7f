"""The synthetic archive: real layout and schemas, determinism, labels, climate, physics."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from bigearthnet_common import constants as ben

from csmoe.bigearthnet import nomenclature
from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT
from csmoe.descriptors import landcover
from csmoe.descriptors.legend import read_legend
from csmoe.index import build_index
from csmoe.index.bigearthnet_v1 import S2_BANDS
from csmoe.index.table import read_index
from csmoe.synthetic.archive import REFERENCE_ROOT, choose_locations, generate_archive
from csmoe.synthetic.landcover import write_landcover_raster

N = 10


@pytest.fixture(scope="module")
def archive(koppen, tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("synthetic")
    return generate_archive(N, 5, out / "archive", out / "landcover.tif", koppen, workers=2)


@pytest.fixture(scope="module")
def index(archive, tmp_path_factory) -> pd.DataFrame:
    root, _ = archive
    out = tmp_path_factory.mktemp("synthetic_index") / "index.parquet"
    build_index(
        "bigearthnet-v1", out, s1_root=root / S1_ROOT, s2_root=root / S2_ROOT,
        reference_root=root / REFERENCE_ROOT,
    )  # fmt: skip
    return read_index(out)


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def test_archive_reads_through_the_v1_index(index: pd.DataFrame) -> None:
    assert len(index) == N + 6
    synthetic = index["reference_map"].notna()
    assert synthetic.sum() == N  # the six real pairs have no reference map
    assert index.loc[synthetic, "country"].nunique() >= 5  # spread over countries
    assert index.loc[synthetic, "season"].nunique() == 4  # and seasons


def test_bands_and_metadata_follow_the_real_archive(index: pd.DataFrame) -> None:
    row = index[index["reference_map"].notna()].iloc[0]
    s2 = json.loads(Path(row.s2_dir, f"{row.s2_name}_labels_metadata.json").read_text())
    s1 = json.loads(Path(row.s1_dir, f"{row.s1_name}_labels_metadata.json").read_text())
    assert set(s2) == ben.BEN_S2_V1_0_JSON_KEYS and set(s1) == ben.BEN_S1_V1_0_JSON_KEYS
    assert set(s1["coordinates"]) == {"ulx", "uly", "lrx", "lly"}
    for band, side in S2_BANDS.items():
        with rasterio.open(Path(row.s2_dir, f"{row.s2_name}_{band}.tif")) as src:
            assert (src.shape, src.dtypes[0], src.crs.to_epsg()) == (
                (side, side),
                "uint16",
                row.utm_epsg,
            )
            assert tuple(src.bounds) == (row.utm_ulx, row.utm_lry, row.utm_lrx, row.utm_uly)
    assert read(Path(row.s1_dir, f"{row.s1_name}_VV.tif")).dtype == np.float32


def test_labels_are_the_classes_of_the_reference_map(index: pd.DataFrame) -> None:
    for row in index[index["reference_map"].notna()].itertuples():
        codes = np.unique(read(Path(row.reference_map)))
        assert list(row.labels) == [nomenclature.CLC_LEVEL3_NAMES[int(c)] for c in codes]


def test_reference_maps_agree_with_the_landcover_raster(archive, index: pd.DataFrame) -> None:
    _, raster = archive
    synthetic = index[index["reference_map"].notna()].reset_index(drop=True)
    legend = read_legend(raster.with_name("landcover.legend.csv"))
    fractions = landcover.from_raster(synthetic, raster, legend)
    columns = landcover.level_columns("3")
    distances = []
    for row, (_, expected) in zip(
        synthetic.itertuples(), fractions[columns].iterrows(), strict=True
    ):
        codes, counts = np.unique(read(Path(row.reference_map)), return_counts=True)
        shares = pd.Series(counts / counts.sum(), index=[f"clc3_{c}" for c in codes])
        distances.append(np.abs(shares.reindex(columns, fill_value=0) - expected).sum() / 2)
    assert np.mean(distances) < 0.2  # total variation between 10 m map and 100 m raster


def test_same_seed_same_bytes(koppen, tmp_path: Path) -> None:
    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()
        }  # fmt: skip

    runs = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = tmp_path / name
        generate_archive(3, seed, out / "archive", out / "lc.tif", koppen, with_examples=False)
        runs.append(digest(out))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_climate_shapes_the_land_cover(koppen, tmp_path: Path) -> None:
    locations = choose_locations(600, 0)
    raster, legend = write_landcover_raster(locations, *koppen, tmp_path / "lc.tif", coding="code")
    located = locations.assign(patch_id=locations["s2_name"])
    shares = landcover.from_raster(located, raster, read_legend(legend))
    fractions = shares[landcover.level_columns("3")]
    by_country = fractions.groupby(locations["country"].to_numpy()).mean()
    finland, portugal = by_country.loc["Finland"], by_country.loc["Portugal"]
    assert finland["clc3_312"] > 3 * portugal["clc3_312"]  # boreal conifers
    assert finland["clc3_412"] > 3 * portugal["clc3_412"]  # peat bogs
    mediterranean = ["clc3_223", "clc3_221", "clc3_323"]  # olives, vines, sclerophyllous
    assert portugal[mediterranean].sum() > 5 * finland[mediterranean].sum()


def test_pixels_are_loosely_physical(index: pd.DataFrame) -> None:
    nir, vv, kinds = [], [], []
    for row in index[index["reference_map"].notna()].itertuples():
        reference = read(Path(row.reference_map))
        nir.append(read(Path(row.s2_dir, f"{row.s2_name}_B08.tif")).ravel())
        vv.append(read(Path(row.s1_dir, f"{row.s1_name}_VV.tif")).ravel())
        kinds.append(reference.ravel())
    nir, vv, kinds = map(np.concatenate, (nir, vv, kinds))
    water = kinds >= 500
    urban = kinds < 200
    if water.any():
        assert np.median(nir[water]) < 0.5 * np.median(nir[~water & ~urban])
    if urban.any() and water.any():
        assert np.median(vv[urban]) > np.median(vv[water]) + 8  # dB


def test_synth_command_needs_only_size_seed_and_folder(tmp_path: Path) -> None:
    """The Köppen map is built on the fly and the land cover written inside the archive."""
    from csmoe.cli import main

    out = tmp_path / "archive"
    assert main(["synth", "--size", "8", "--seed", "2", "--out", str(out), "--no-examples"]) == 0
    assert (out / "landcover.tif").is_file() and (out / "landcover.legend.csv").is_file()
    assert len(list((out / "BigEarthNet-S1-v1.0").iterdir())) == 8
    code = main(["synth", "--size", "8", "--out", str(tmp_path / "x"), "--koppen-raster", "k.tif"])
    assert code == 2 and not (tmp_path / "x").exists()
