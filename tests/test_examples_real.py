"""The six real BigEarthNet example pairs: raster facts, the v1 index and the names index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT
from csmoe.bigearthnet.names import acquisition_times, utm_bounds_from_s1_names
from csmoe.index import build_index
from csmoe.index.bigearthnet_v1 import S2_BANDS
from csmoe.index.table import read_index


def s1_metadata(examples: Path) -> dict[str, dict]:
    return {
        d.name: json.loads((d / f"{d.name}_labels_metadata.json").read_text())
        for d in sorted((examples / S1_ROOT).iterdir())
    }


def test_six_real_pairs_have_the_published_band_shapes_and_types(examples: Path) -> None:
    s2_dirs = sorted((examples / S2_ROOT).iterdir())
    s1_dirs = sorted((examples / S1_ROOT).iterdir())
    assert len(s2_dirs) == len(s1_dirs) == 6
    for folder in s2_dirs:
        for band, pixels in S2_BANDS.items():
            with rasterio.open(folder / f"{folder.name}_{band}.tif") as src:
                assert src.shape == (pixels, pixels)
                assert src.dtypes[0] == "uint16"
                assert src.crs.to_epsg() // 100 == 326  # WGS 84 / UTM north
    for folder in s1_dirs:
        for band in ("VV", "VH"):
            with rasterio.open(folder / f"{folder.name}_{band}.tif") as src:
                assert (src.shape, src.dtypes[0]) == ((120, 120), "float32")


def test_v1_index_footprints_equal_the_json_coordinates(
    examples: Path, example_index: pd.DataFrame
) -> None:
    assert len(example_index) == 6
    by_s1 = example_index.set_index("s1_name")
    for s1_name, meta in s1_metadata(examples).items():
        row = by_s1.loc[s1_name]
        c = meta["coordinates"]
        assert (row.utm_ulx, row.utm_uly, row.utm_lrx, row.utm_lry) == (
            c["ulx"], c["uly"], c["lrx"], c["lly"],
        )  # fmt: skip
        assert f"UTM zone {row.utm_epsg - 32600}N" in meta["projection"]
        assert row.s2_name == meta["corresponding_s2_patch"]
        assert row.s1_time == pd.Timestamp(meta["acquisition_time"])


def test_v1_index_geometry_is_the_utm_square_in_wgs84(example_index: pd.DataFrame) -> None:
    import pyproj

    for row in example_index.itertuples():
        to_utm = pyproj.Transformer.from_crs(4326, int(row.utm_epsg), always_xy=True)
        xs, ys = to_utm.transform(*row.geometry.exterior.xy)
        assert np.allclose(sorted(set(np.round(xs, 3))), [row.utm_ulx, row.utm_lrx])
        assert np.allclose(sorted(set(np.round(ys, 3))), [row.utm_lry, row.utm_uly])
    assert example_index.crs.to_epsg() == 4326


def test_v1_index_labels_and_metadata(example_index: pd.DataFrame) -> None:
    row = example_index.set_index("patch_id").loc["S2A_MSIL2A_20170613T101031_87_48"]
    assert list(row.labels) == [
        "Non-irrigated arable land",
        "Land principally occupied by agriculture, with significant areas of natural vegetation",
    ]
    assert list(row.labels_19) == [
        "Arable land",
        "Land principally occupied by agriculture, with significant areas of natural vegetation",
    ]
    assert sum(row.multi_hot_19) == 2
    assert (row.country, row.season, row.split) == ("Austria", "Summer", "test")
    snowy = example_index.set_index("patch_id").loc["S2B_MSIL2A_20180204T94161_57_38"]
    assert bool(snowy.snow) and pd.isna(snowy.split)  # snow patches are in no split


def test_names_give_the_json_footprints_of_all_six_examples(examples: Path) -> None:
    meta = s1_metadata(examples)
    bounds = utm_bounds_from_s1_names(pd.Series(list(meta)))
    for (s1_name, m), row in zip(meta.items(), bounds.itertuples(), strict=True):
        c = m["coordinates"]
        assert (row.utm_ulx, row.utm_uly, row.utm_lrx, row.utm_lry) == (
            c["ulx"], c["uly"], c["lrx"], c["lly"],
        ), s1_name  # fmt: skip
        assert f'EPSG","{row.utm_epsg}"' in m["projection"]
    times = acquisition_times(list(meta))
    assert [pd.Timestamp(t) for t in times] == [
        pd.Timestamp(m["acquisition_time"]) for m in meta.values()
    ]


@pytest.mark.slow
def test_full_names_index_places_the_examples_exactly(
    example_index: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "bigearthnet_names.parquet"
    assert build_index("bigearthnet-names", out) == 590_326
    names = read_index(out).set_index("s1_name")
    columns = ["patch_id", "utm_epsg", "utm_ulx", "utm_uly", "utm_lrx", "utm_lry", "split"]
    ours = names.loc[example_index["s1_name"], columns].reset_index(drop=True)
    expected = example_index[columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, expected)
    assert names["split"].value_counts().to_dict() == {
        "train": 269_695, "validation": 123_723, "test": 125_866,
    }  # fmt: skip
    assert names.geometry.is_valid.all()
