"""BigEarthNet v2 and SSL4EO-S12 layouts, from fixtures that follow the published layouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from archives import SSL4EO_LOCATIONS, read_v2_metadata

from csmoe.bigearthnet import nomenclature
from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT
from csmoe.cli import main
from csmoe.errors import InputError
from csmoe.index import build_index
from csmoe.index.table import read_index
from csmoe.sampling.pool import training_pool
from csmoe.sampling.splits import evaluation_manifest, split_counts


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
    metadata = read_v2_metadata(v2_root).set_index("patch_id")
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


def test_v2_evaluation_splits_leave_out_snow_and_cloud_patches(
    v2_index: pd.DataFrame, v2_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """reBEN's flagged patches carry split values in their own metadata file, but the
    published splits leave them out (train 237,871 / validation 122,342 / test 119,825)."""
    flagged = v2_index[v2_index["snow"] | v2_index["cloud"]]
    assert len(flagged) == 1 and flagged["split"].iloc[0] == "validation"
    assert split_counts(v2_index) == {"train": 4, "validation": 0, "test": 1}
    with pytest.raises(InputError, match="no labelled patch without snow or cloud"):
        evaluation_manifest(v2_index, "validation", None, seed=0)
    assert main(["index", "bigearthnet-v2", "--root", str(v2_root),
                 "--out", str(tmp_path / "v2.parquet")]) == 0  # fmt: skip
    assert "evaluation splits (labelled, no snow or cloud): train 4, validation 0, test 1" in (
        capsys.readouterr().err
    )


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


def test_v1_finds_reference_maps_in_the_v2_layout(
    examples: Path, v2_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real reference maps live under v2 ids; the v2 metadata maps v1 names to them."""
    out = tmp_path / "v1.parquet"
    build_index("bigearthnet-v1", out, s1_root=examples / S1_ROOT, s2_root=examples / S2_ROOT,
                reference_root=v2_root / "Reference_Maps")  # fmt: skip
    index = read_index(out)
    metadata = read_v2_metadata(v2_root).set_index("s2v1_name")
    for row in index.itertuples():
        v2_id = metadata.loc[row.s2_name, "patch_id"]
        assert row.reference_map.endswith(f"{v2_id}/{v2_id}_reference_map.tif")
        assert v2_id.rsplit("_", 2)[1:] == [f"{int(x):02d}" for x in row.s2_name.split("_")[3:]]
    assert "reference maps for 6 of 6 pairs" in capsys.readouterr().err


def test_v1_reference_maps_without_the_v2_metadata_is_an_error(
    examples: Path, v2_root: Path, tmp_path: Path
) -> None:
    maps = tmp_path / "Reference_Maps"
    shutil.copytree(v2_root / "Reference_Maps", maps)  # no metadata.parquet beside it
    with pytest.raises(InputError, match="metadata.parquet: BigEarthNet v2 metadata.parquet not"):
        build_index("bigearthnet-v1", tmp_path / "x.parquet", s1_root=examples / S1_ROOT,
                    s2_root=examples / S2_ROOT, reference_root=maps)  # fmt: skip
    assert not (tmp_path / "x.parquet").exists()


def test_v1_reference_map_listed_but_missing_is_named(
    examples: Path, v2_root: Path, tmp_path: Path
) -> None:
    root = tmp_path / "v2"
    shutil.copytree(v2_root, root)
    gone = next((root / "Reference_Maps").rglob("*_reference_map.tif"))
    gone.unlink()
    with pytest.raises(InputError, match=f"{gone}: missing, though the v2 metadata lists"):
        build_index("bigearthnet-v1", tmp_path / "x.parquet", s1_root=examples / S1_ROOT,
                    s2_root=examples / S2_ROOT, reference_root=root / "Reference_Maps")  # fmt: skip


@pytest.fixture(scope="module")
def ssl4eo_index(ssl4eo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("ssl4eo") / "ssl4eo.parquet"
    build_index("ssl4eo-s12", out, root=ssl4eo_root)
    return read_index(out)


def test_ssl4eo_pairs_the_scenes_of_each_window(ssl4eo_index: pd.DataFrame) -> None:
    ids = list(ssl4eo_index["patch_id"])
    assert ids[:11] == [
        "0000001_20201124",
        "0000001_20210220",
        "0000001_20210525",
        "0000001_20210826",
        "0000002_20200220",
        "0000002_20200813",
        "0000002_20201130",
        "0000003_20200115",
        "0000003_20200414",
        "0000003_20200713",
        "0000003_20201011",
    ]  # fmt: skip  (0000002: no S1 scene in the window of its 4 June S2 scene)
    assert len(ids) == 4 * len(SSL4EO_LOCATIONS) - 1
    rows = ssl4eo_index.set_index("patch_id")
    # August S2 and September S1: two seasons, one download window, one pair.
    assert "_20200903T004317_" in rows.loc["0000002_20200813", "s1_name"]
    assert rows.loc["0000002_20200813", "s2_name"] == "20200813T054639_20200813T054831_T43RCP"
    assert rows.loc["0000002_20200813", "tile"] == "43RCP"
    assert rows.loc["0000001_20210220", "season"] == "Winter"
    assert rows.loc["0000003_20200115", "season"] == "Summer"  # southern hemisphere
    assert (ssl4eo_index["split"] == "train").all()


def test_ssl4eo_fixture_is_georeferenced_as_the_download_script_writes(
    ssl4eo_root: Path,
) -> None:
    """Every band of a scene has the scene's corners and an origin shifted left and up by
    half of its own pixel; '+proj=latlong' reads as EPSG:4326; S1 has its own corners."""
    import rasterio

    scene = sorted((ssl4eo_root / "s2a" / "0000001").iterdir())[0]
    with rasterio.open(scene / "B2.tif") as b2, rasterio.open(scene / "B1.tif") as b1:
        assert b2.crs.to_epsg() == b1.crs.to_epsg() == 4326
        assert (b2.shape, b1.shape) == ((264, 264), (44, 44))
        shift = (b1.res[0] - b2.res[0]) / 2  # half of 60 m less half of 10 m, in degrees
        assert b1.bounds.left == pytest.approx(b2.bounds.left - shift, abs=1e-12)
        assert b1.bounds.top == pytest.approx(b2.bounds.top + (b1.res[1] - b2.res[1]) / 2,
                                              abs=1e-12)  # fmt: skip
        assert abs(b1.bounds.left - b2.bounds.left) > 1e-4  # farther than the old tolerance
    s1 = sorted((ssl4eo_root / "s1" / "0000001").iterdir())[0]
    with rasterio.open(s1 / "VV.tif") as vv, rasterio.open(scene / "B2.tif") as b2:
        assert vv.dtypes[0] == "float32" and vv.shape == (264, 264)
        assert vv.bounds != b2.bounds


def test_ssl4eo_fixture_spans_continents() -> None:
    """Locations for global land cover: both hemispheres, east and west, six continents."""
    lons = [v[0] for v in SSL4EO_LOCATIONS.values()]
    lats = [v[1] for v in SSL4EO_LOCATIONS.values()]
    assert len(SSL4EO_LOCATIONS) >= 5 and min(lons) < -50 and max(lons) > 100
    assert min(lats) < -30 and max(lats) > 40


def test_ssl4eo_footprint_is_the_10m_bounds_in_degrees(
    ssl4eo_index: pd.DataFrame, ssl4eo_root: Path
) -> None:
    import rasterio

    row = ssl4eo_index.set_index("patch_id").loc["0000001_20210525"]
    with rasterio.open(Path(row.s2_dir) / "B2.tif") as src:
        assert row.geometry.bounds == pytest.approx(tuple(src.bounds), abs=1e-12)
    assert row.utm_epsg == 32632  # 9 degrees east: UTM zone 32
    width, height = row.utm_lrx - row.utm_ulx, row.utm_uly - row.utm_lry
    # 2,640 m, less what the crop to 44 px of the sampled 60 m band trims (0-2 px of 60 m)
    assert 2520 < height < 2645 and 2520 < width < 2645
    assert width == pytest.approx(height, rel=1e-3)  # a square on the ground


def _rewrite_shifted(path: Path, east_m: float) -> None:
    """Rewrite a band with its footprint moved `east_m` metres east."""
    import rasterio

    with rasterio.open(path) as src:
        profile, values, bounds = src.profile, src.read(1), src.bounds
    lat = (bounds.bottom + bounds.top) / 2
    shift = east_m / (111_320 * np.cos(np.radians(lat)))
    profile["transform"] = rasterio.Affine.translation(shift, 0) @ profile["transform"]
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)


def test_ssl4eo_band_off_its_scene_is_named(ssl4eo_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "ssl4eo"
    shutil.copytree(ssl4eo_root, root)
    scene = sorted((root / "s2a" / "0000004").iterdir())[1]
    _rewrite_shifted(scene / "B9.tif", 400)  # it lay 25 m west of B2 already
    with pytest.raises(InputError, match=r"B9.tif: raster bounds .* lie 37\d m from those "
                       r"of B2.tif .*half the scene's coarsest pixel, 29 m"):  # fmt: skip
        build_index("ssl4eo-s12", tmp_path / "x.parquet", root=root)


def test_ssl4eo_s1_off_the_s2_footprint_is_named(ssl4eo_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "ssl4eo"
    shutil.copytree(ssl4eo_root, root)
    scene = sorted((root / "s1" / "0000005").iterdir())[2]
    for band in ("VV", "VH"):
        _rewrite_shifted(scene / f"{band}.tif", 500)
    with pytest.raises(InputError, match=r"VV.tif: S1 footprint .* lies [45]\d\d m from the "
                       r"S2 footprint of 20201201T171701_.*/B2.tif .*more than 150 m"):  # fmt: skip
        build_index("ssl4eo-s12", tmp_path / "x.parquet", root=root)


def test_ssl4eo_band_with_wrong_resolution_is_named(ssl4eo_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "ssl4eo"
    shutil.copytree(ssl4eo_root, root)
    folder = sorted((root / "s2a" / "0000001").iterdir())[0]
    shutil.copy(folder / "B2.tif", folder / "B5.tif")  # a 10 m raster where 20 m belongs
    with pytest.raises(
        InputError, match=r"B5.tif: expected shape \(132, 132\), found \(264, 264\)"
    ):
        build_index("ssl4eo-s12", tmp_path / "x.parquet", root=root)


def test_ssl4eo_projected_raster_is_refused(ssl4eo_root: Path, tmp_path: Path) -> None:
    import rasterio

    root = tmp_path / "ssl4eo"
    shutil.copytree(ssl4eo_root, root)
    band = sorted((root / "s2a" / "0000001").iterdir())[0] / "B1.tif"
    with rasterio.open(band) as src:
        profile, values = src.profile, src.read(1)
    profile |= {"crs": "EPSG:32632", "transform": rasterio.transform.from_origin(5e5, 5e6, 60, 60)}
    with rasterio.open(band, "w", **profile) as dst:
        dst.write(values, 1)
    with pytest.raises(InputError, match="B1.tif: expected EPSG:4326 .*found EPSG:32632"):
        build_index("ssl4eo-s12", tmp_path / "x.parquet", root=root)


def test_ssl4eo_wrong_root_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="s2a: missing"):
        build_index("ssl4eo-s12", tmp_path / "x.parquet", root=tmp_path)


def test_ssl4eo_v11_zarr_files_give_one_row_per_location_and_timestamp(
    ssl4eo_v11_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "v11.parquet"
    assert build_index("ssl4eo-s12-v1.1", out, root=ssl4eo_v11_root, workers=2) == 12
    index = read_index(out).set_index("patch_id")
    assert list(index.index[:4]) == ["0000173_0", "0000173_1", "0000173_2", "0000173_3"]
    assert set(index["split"]) == {"train", "validation"}
    assert index.loc["0000173_0", "split"] == "validation"
    row = index.loc["0080717_2"]
    assert row.s2_name.startswith("20210515T023001_") and "_20210518T023001_" in row.s1_name
    assert Path(row.s2_dir).name == "ssl4eos12_train_seasonal_data_000001.zarr.zip"
    assert Path(row.s2_dir).parent.name == "S2L2A" and Path(row.s1_dir).parent.name == "S1GRD"
    assert (row.utm_epsg, row.utm_ulx, row.utm_uly) == (32651, 713680.0, 4729320.0)
    assert (row.utm_lrx - row.utm_ulx, row.utm_uly - row.utm_lry) == (2640.0, 2640.0)
    lon, lat = row.geometry.centroid.coords[0]
    assert lon == pytest.approx(125.6, abs=0.05) and lat == pytest.approx(42.66, abs=0.05)
    assert index.loc["0060573_0", "season"] == "Spring"  # November, southern hemisphere
    assert set(index["tile"]) == {"51TXG"}  # the end of every S2 file id


def test_ssl4eo_v11_cloud_share_counts_cloud_classes_over_pixels_with_data(
    ssl4eo_v11_root: Path, tmp_path: Path
) -> None:
    """The release's cloud mask is a class map (land 0, water 1, snow 2, thin cloud 3,
    thick cloud 4, shadow 5, no data 6): water and snow are not cloud, no data is not a
    pixel of the share; the cloud flag is the share above the threshold."""
    out = tmp_path / "v11.parquet"
    build_index("ssl4eo-s12-v1.1", out, root=ssl4eo_v11_root, cloud_threshold=0.3)
    index = read_index(out).set_index("patch_id")
    shares = index.loc[[f"0060573_{t}" for t in range(4)], ["cloud_share", "nodata_share"]]
    assert shares["cloud_share"].tolist() == pytest.approx([0.0, 66 / 264, 0.0, 0.5])
    assert shares["nodata_share"].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.5])
    assert index.loc["0080717_1", "cloud_share"] == 0.0  # no cloudy rows at that location
    flags = index.loc[[f"0060573_{t}" for t in range(4)], "cloud"].tolist()
    assert flags == [False, False, False, True]  # 0.25 and 0.5 against 0.3
    pool, removed = training_pool(read_index(out), cloud=True)
    assert "0060573_3" not in set(pool["patch_id"]) and removed["cloud"] == 2  # t3, 2 train
    build_index("ssl4eo-s12-v1.1", out, root=ssl4eo_v11_root)  # default threshold 0.05
    assert read_index(out).set_index("patch_id").loc["0060573_1", "cloud"]


def test_ssl4eo_v11_webdataset_distribution_is_named(tmp_path: Path) -> None:
    shard = tmp_path / "train" / "S2L2A" / "ssl4eos12_shard_000001.tar"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(b"")
    with pytest.raises(InputError, match="WebDataset distribution of SSL4EO-S12 v1.1"):
        build_index("ssl4eo-s12-v1.1", tmp_path / "x.parquet", root=tmp_path)


def test_ssl4eo_v11_file_without_its_s1_partner_is_named(
    ssl4eo_v11_root: Path, tmp_path: Path
) -> None:
    root = tmp_path / "v11"
    shutil.copytree(ssl4eo_v11_root, root)
    gone = root / "val" / "S1GRD" / "ssl4eos12_val_seasonal_data_000001.zarr.zip"
    gone.unlink()
    with pytest.raises(InputError, match=f"{gone}: missing: the S1 file of the same name"):
        build_index("ssl4eo-s12-v1.1", tmp_path / "x.parquet", root=root)
    out = tmp_path / "kept.parquet"
    assert build_index("ssl4eo-s12-v1.1", out, root=root, skip_bad=True) == 8
    skipped = pd.read_csv(tmp_path / "kept.skipped.tsv", sep="\t", keep_default_na=False)
    assert list(skipped["item"]) == ["val/ssl4eos12_val_seasonal_data_000001.zarr.zip"]


def test_ssl4eo_v11_damaged_zip_is_named(ssl4eo_v11_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "v11"
    shutil.copytree(ssl4eo_v11_root, root)
    damaged = root / "train" / "S2L2A" / "ssl4eos12_train_seasonal_data_000001.zarr.zip"
    damaged.write_bytes(damaged.read_bytes()[:5000])
    with pytest.raises(InputError, match=f"{damaged}: not a readable zarr zip file"):
        build_index("ssl4eo-s12-v1.1", tmp_path / "x.parquet", root=root)
