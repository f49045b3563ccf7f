"""BigEarthNet v2 and SSL4EO-S12 layouts, from fixtures that follow the published layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from csmoe.bigearthnet import nomenclature
from csmoe.bigearthnet.examples import S1_ROOT
from csmoe.cli import main
from csmoe.errors import InputError
from csmoe.index import build_index
from csmoe.index.table import read_index


@pytest.fixture(scope="module")
def v2_index(v2_root: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("v2index") / "v2.parquet"
    assert build_index("bigearthnet-v2", out, root=v2_root) == 6
    return read_index(out)


def test_v2_footprints_match_the_v1_json_of_the_same_patch(
    v2_index: pd.DataFrame, examples: Path
) -> None:
    by_s1 = v2_index.set_index("s1_name")
    for folder in sorted((examples / S1_ROOT).iterdir()):
        c = json.loads((folder / f"{folder.name}_labels_metadata.json").read_text())["coordinates"]
        row = by_s1.loc[folder.name]
        assert (row.utm_ulx, row.utm_uly, row.utm_lrx, row.utm_lry) == (
            c["ulx"], c["uly"], c["lrx"], c["lly"],
        )  # fmt: skip


def test_v2_rows_carry_metadata_labels_and_reference_maps(
    v2_index: pd.DataFrame, v2_root: Path
) -> None:
    metadata = pd.read_parquet(v2_root / "metadata.parquet").set_index("patch_id")
    for row in v2_index.itertuples():
        meta = metadata.loc[row.patch_id]
        assert list(row.labels_19) == sorted(meta["labels"])
        expected = nomenclature.ben19_multi_hot(meta["labels"])
        assert list(row.multi_hot_19) == list(expected)
        assert row.split == meta["split"] and row.country == meta["country"]
        assert Path(row.reference_map).is_file()
        assert Path(row.s2_dir, f"{row.patch_id}_B8A.tif").is_file()
        assert row.tile == row.patch_id.split("_")[5].removeprefix("T")
        assert row.labels is None
    assert v2_index["season"].notna().all()


def test_v2_without_metadata_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "BigEarthNet-S2").mkdir()
    code = main(["index", "bigearthnet-v2", "--root", str(tmp_path), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "metadata.parquet: missing" in err


def test_v2_metadata_missing_a_column_is_rejected(v2_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "v2"
    root.mkdir()
    pd.read_parquet(v2_root / "metadata.parquet").drop(columns="s1_name").to_parquet(
        root / "metadata.parquet"
    )
    with pytest.raises(InputError, match=r"metadata.parquet: missing column\(s\) \['s1_name'\]"):
        build_index("bigearthnet-v2", tmp_path / "x.parquet", root=root)


@pytest.fixture(scope="module")
def ssl4eo_index(ssl4eo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("ssl4eo") / "ssl4eo.parquet"
    build_index("ssl4eo-s12", out, root=ssl4eo_root)
    return read_index(out)


def test_ssl4eo_pairs_acquisitions_by_season(ssl4eo_index: pd.DataFrame) -> None:
    assert list(ssl4eo_index["patch_id"]) == [
        "0000001_fall",
        "0000001_spring",
        "0000001_summer",
        "0000001_winter",
        "0000002_fall",
        "0000002_summer",
        "0000002_winter",
    ]  # fmt: skip  (location 2 has no S1 scene in its spring)
    winter = ssl4eo_index.set_index("patch_id").loc["0000001_winter"]
    assert winter.s2_name.startswith("20210117") and "20210121" in winter.s1_name
    # Southern hemisphere: a January scene is summer there; its April scene is autumn.
    south = ssl4eo_index.set_index("patch_id")
    assert south.loc["0000002_summer"].s2_name.startswith("20200110")
    assert south.loc["0000002_fall"].s2_name.startswith("20200419")
    assert (ssl4eo_index["split"] == "train").all()


def test_ssl4eo_footprint_comes_from_the_rasters(ssl4eo_index: pd.DataFrame) -> None:
    row = ssl4eo_index.set_index("patch_id").loc["0000001_spring"]
    assert (row.utm_epsg, row.utm_ulx, row.utm_uly) == (32632, 500000.0, 5300000.0)
    assert (row.utm_lrx - row.utm_ulx, row.utm_uly - row.utm_lry) == (2640.0, 2640.0)
    lon, lat = row.geometry.exterior.coords[0]
    assert lon == pytest.approx(9.0, abs=1e-6) and 47.8 < lat < 47.9


def test_ssl4eo_band_with_wrong_resolution_is_named(ssl4eo_root: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "ssl4eo"
    shutil.copytree(ssl4eo_root, root)
    folder = next((root / "s2a" / "0000001").iterdir())
    shutil.copy(folder / "B2.tif", folder / "B5.tif")  # a 10 m raster where 20 m belongs
    with pytest.raises(
        InputError, match=r"B5.tif: expected shape \(132, 132\), found \(264, 264\)"
    ):
        build_index("ssl4eo-s12", tmp_path / "x.parquet", root=root)


def test_ssl4eo_wrong_root_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="s2a: missing"):
        build_index("ssl4eo-s12", tmp_path / "x.parquet", root=tmp_path)
