"""Bad archives: one clear error naming the file, exit status 2, nothing half-written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
import rasterio
from archives import SSL4EO_LOCATIONS
from rasterio import Affine

from csmoe.cli import main
from csmoe.index.table import skipped_path

PATCH = "S2A_MSIL2A_20170617T113321_4_55"
S1_PATCH = "S1A_IW_GRDH_1SDV_20170617T064724_29UPU_4_55"


def run_index(s1_root: Path, s2_root: Path, out: Path, *extra: str) -> int:
    return main(
        ["index", "bigearthnet-v1", "--s1-root", str(s1_root), "--s2-root", str(s2_root),
         "--out", str(out), *extra]
    )  # fmt: skip


def assert_fails_naming(
    capsys: pytest.CaptureFixture[str], code: int, out: Path, where: Path, words: str
) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("csmoe: error: ")
    assert str(where) in err[0]
    assert words in err[0]
    assert list(out.parent.iterdir()) == []  # no index, no temporary file


def empty_out(tmp_path: Path) -> Path:
    """An index path in a folder of its own, so a test can see that nothing was left."""
    out = tmp_path / "out" / "index.parquet"
    out.parent.mkdir()
    return out


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def drop_coordinates(path: Path) -> None:
    meta = json.loads(path.read_text())
    del meta["coordinates"]
    path.write_text(json.dumps(meta))


def rewrite_with_shape(path: Path, shape: tuple[int, int]) -> None:
    with rasterio.open(path) as src:
        profile = src.profile | {"height": shape[0], "width": shape[1]}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones(shape, dtype=profile["dtype"]), 1)


def rewrite_band(path: Path, change=lambda values: values, **profile) -> None:
    """Write a band again with its pixels passed through `change` and `profile` updates."""
    with rasterio.open(path) as src:
        old_profile, values = src.profile, src.read(1)
    values = change(values)
    with rasterio.open(path, "w", **(old_profile | {"dtype": values.dtype.name} | profile)) as dst:
        dst.write(values, 1)


def add_nan_pixels(values: np.ndarray, count: int = 900) -> np.ndarray:
    """A 30 x 30 block of NaN in an otherwise valid float band."""
    side = int(count**0.5)
    values[:side, :side] = np.nan
    return values


def claim_twice(s1_json: Path) -> None:
    """Make `s1_json`'s folder a copy of S1_PATCH's under another S1 name: a second S1
    patch naming the same S2 partner."""
    shutil.copytree(s1_json.parent.parent / S1_PATCH, s1_json.parent)
    for file in s1_json.parent.iterdir():
        file.rename(file.with_name(file.name.replace(S1_PATCH, s1_json.parent.name)))


def set_json(key: str, value) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        path.write_text(json.dumps(json.loads(path.read_text()) | {key: value}))

    return change


def shift_east(metres: float) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        with rasterio.open(path) as src:
            transform = src.transform
        rewrite_band(path, transform=transform @ Affine.translation(metres / transform.a, 0))

    return change


class Damage(NamedTuple):
    locate: Callable[[Path, Path], Path]  # (s1_root, s2_root) -> the file at fault
    damage: Callable[[Path], None]
    words: str  # in the message
    patch_id: str = PATCH  # in skipped.tsv ("" where the damaged file names the pair)
    kept: int = 5  # pairs indexed with --skip-bad


def s1_file(suffix: str) -> Callable[[Path, Path], Path]:
    return lambda s1, s2: s1 / S1_PATCH / f"{S1_PATCH}_{suffix}"


def s2_file(suffix: str) -> Callable[[Path, Path], Path]:
    return lambda s1, s2: s2 / PATCH / f"{PATCH}_{suffix}"


SECOND_S1 = S1_PATCH.replace("S1A", "S1B")  # sorts after S1_PATCH
DAMAGE = {
    "missing band": Damage(s2_file("B05.tif"), Path.unlink, "missing band"),
    "truncated tiff": Damage(s2_file("B03.tif"), truncate, "unreadable"),
    "garbage tiff": Damage(s1_file("VV.tif"), lambda p: p.write_bytes(b"not a tiff"), "unreadable"),
    "json without coordinates": Damage(
        s2_file("labels_metadata.json"), drop_coordinates, "no 'coordinates'"
    ),
    "S1 json not JSON": Damage(
        s1_file("labels_metadata.json"), lambda p: p.write_text("{"), "not valid JSON", ""
    ),
    "S1 json naming no S2 patch": Damage(
        s1_file("labels_metadata.json"),
        set_json("corresponding_s2_patch", "../../elsewhere"),
        "'../../elsewhere' is not an S2 patch name",
        "",
    ),
    "unknown CORINE label": Damage(
        s2_file("labels_metadata.json"),
        set_json("labels", ["Moon dust"]),
        "unknown CORINE level-3 label 'Moon dust'",
    ),
    "S2 patch claimed twice": Damage(
        lambda s1, s2: s1 / SECOND_S1 / f"{SECOND_S1}_labels_metadata.json",
        claim_twice,
        f"corresponding_s2_patch {PATCH} is already paired with {S1_PATCH}",
        kept=6,
    ),
    "NaN pixels": Damage(
        s1_file("VH.tif"),
        lambda p: rewrite_band(p, add_nan_pixels),
        "900 of 14400 pixels are NaN or infinite",
    ),
    "infinite pixels": Damage(
        s1_file("VV.tif"),
        lambda p: rewrite_band(p, lambda v: np.where(v > np.median(v), np.inf, v)),
        "7200 of 14400 pixels are NaN or infinite",
    ),
    "S1 band without CRS": Damage(
        s1_file("VV.tif"), lambda p: rewrite_band(p, crs=None), "raster has no CRS"
    ),
    "CRS mismatch within the pair": Damage(
        s1_file("VH.tif"),
        lambda p: rewrite_band(p, crs="EPSG:32630"),  # the pair is in UTM zone 29N
        "CRS EPSG:32630 differs from EPSG:32629",
    ),
    "S1 band shifted 100 m": Damage(s1_file("VH.tif"), shift_east(100), "raster bounds"),
    "wrong data type": Damage(
        s2_file("B04.tif"),
        lambda p: rewrite_band(p, lambda values: values.astype("float32")),
        "expected data type uint16, found float32",
    ),
    "wrong shape": Damage(
        s2_file("B11.tif"),
        lambda p: rewrite_with_shape(p, (120, 120)),
        "expected shape (60, 60), found (120, 120)",
    ),
    "NaN corner in the S2 JSON": Damage(
        s2_file("labels_metadata.json"),
        lambda p: p.write_text(p.read_text().replace('"ulx": ', '"ulx": NaN, "x": ', 1)),
        "not valid JSON (NaN is not a number)",
    ),
    "infinite corner in the S1 JSON": Damage(
        s1_file("labels_metadata.json"),
        lambda p: p.write_text(p.read_text().replace('"lrx": ', '"lrx": Infinity, "x": ', 1)),
        "not valid JSON (Infinity is not a number)",
        "",  # the S1 JSON names the pair
    ),
    "pixel scale NaN": Damage(
        s2_file("B02.tif"),
        lambda p: rewrite_band(p, transform=Affine(float("nan"), 0, 5e5, 0, -10, 4e6)),
        "georeferencing gives no footprint",
    ),
}


# One reader process, and two (the workflow's default): errors cross the process boundary.
WORKERS = pytest.mark.parametrize("workers", ["1", "2"])


@WORKERS
@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_patch_stops_with_one_message(
    case: str, workers: str, v1_archive: tuple[Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    s1_root, s2_root = v1_archive
    case = DAMAGE[case]
    damaged = case.locate(s1_root, s2_root)
    case.damage(damaged)
    out = empty_out(tmp_path)
    code = run_index(s1_root, s2_root, out, "--workers", workers)
    assert_fails_naming(capsys, code, out, damaged, case.words)


@WORKERS
@pytest.mark.parametrize("case", DAMAGE)
def test_skip_bad_lists_the_damaged_patch(
    case: str, workers: str, v1_archive: tuple[Path, Path], tmp_path: Path
) -> None:
    s1_root, s2_root = v1_archive
    case = DAMAGE[case]
    damaged = case.locate(s1_root, s2_root)
    case.damage(damaged)
    out = tmp_path / "index.parquet"
    assert run_index(s1_root, s2_root, out, "--skip-bad", "--workers", workers) == 0
    index = pd.read_parquet(out)
    assert len(index) == case.kept
    assert index["s1_name"].str.startswith(S1_PATCH[:3]).all()  # the first claim is kept
    skipped = pd.read_csv(skipped_path(out), sep="\t", keep_default_na=False)
    item = damaged.parent.name if damaged.is_relative_to(s1_root) else S1_PATCH
    assert skipped.to_dict("records") == [
        {"patch_id": case.patch_id, "item": item, "file": str(damaged),
         "reason": skipped["reason"][0]}
    ]  # fmt: skip
    assert case.words in skipped["reason"][0]


def test_empty_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s1_root, s2_root = tmp_path / "s1", tmp_path / "s2"
    s1_root.mkdir()
    s2_root.mkdir()
    out = empty_out(tmp_path)
    assert_fails_naming(capsys, run_index(s1_root, s2_root, out), out, s1_root, "is empty")


def test_swapped_roots(
    v1_archive: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1_root, s2_root = v1_archive
    out = empty_out(tmp_path)
    code = run_index(s2_root, s1_root, out)
    assert_fails_naming(capsys, code, out, s2_root, "swapped")


def test_root_one_level_too_high(
    v1_archive: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1_root, s2_root = v1_archive
    out = empty_out(tmp_path)
    code = run_index(s1_root.parent, s2_root, out)
    assert_fails_naming(capsys, code, out, s1_root.parent, "no BigEarthNet-S1 patch folders")


def test_missing_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = empty_out(tmp_path)
    code = run_index(tmp_path / "nowhere", tmp_path / "nowhere2", out)
    assert_fails_naming(capsys, code, out, tmp_path / "nowhere", "does not exist")


def test_missing_s2_partner(
    v1_archive: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1_root, s2_root = v1_archive
    shutil.rmtree(s2_root / PATCH)
    out = empty_out(tmp_path)
    code = run_index(s1_root, s2_root, out)
    s1_json = s1_root / S1_PATCH / f"{S1_PATCH}_labels_metadata.json"
    assert_fails_naming(capsys, code, out, s1_json, f"corresponding_s2_patch {PATCH} is not in")


def test_failed_run_keeps_the_previous_index(v1_archive: tuple[Path, Path], tmp_path: Path) -> None:
    s1_root, s2_root = v1_archive
    out = tmp_path / "index.parquet"
    assert run_index(s1_root, s2_root, out) == 0
    before = out.read_bytes()
    truncate(s2_root / PATCH / f"{PATCH}_B02.tif")
    assert run_index(s1_root, s2_root, out) == 2
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.parquet", "v1"]


def test_index_is_byte_identical_across_runs(v1_archive: tuple[Path, Path], tmp_path: Path) -> None:
    s1_root, s2_root = v1_archive
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert run_index(s1_root, s2_root, first) == 0
    assert run_index(s1_root, s2_root, second, "--workers", "2") == 0
    assert first.read_bytes() == second.read_bytes()


def test_index_paths_are_absolute_whatever_the_working_directory(
    v1_archive: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s1_root, s2_root = v1_archive
    monkeypatch.chdir(s1_root.parent)
    out = tmp_path / "index.parquet"
    assert run_index(Path(s1_root.name), Path(s2_root.name), out) == 0
    monkeypatch.chdir(tmp_path)  # a later stage, run from elsewhere
    index = pd.read_parquet(out)
    for column in ("s1_dir", "s2_dir"):
        assert all(Path(p).is_absolute() and Path(p).is_dir() for p in index[column])


def test_repair_policy_indexes_the_patch_and_counts_its_pixels(
    v1_archive: tuple[Path, Path], tmp_path: Path
) -> None:
    s1_root, s2_root = v1_archive
    rewrite_band(s1_root / S1_PATCH / f"{S1_PATCH}_VH.tif", add_nan_pixels)
    out = tmp_path / "index.parquet"
    assert run_index(s1_root, s2_root, out, "--non-finite", "repair", "--workers", "2") == 0
    counts = pd.read_parquet(out).set_index("patch_id")["non_finite_pixels"]
    assert counts[PATCH] == 900 and (counts.drop(PATCH) == 0).all()


def test_repair_policy_still_refuses_a_band_without_one_finite_pixel(
    v1_archive: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1_root, s2_root = v1_archive
    band = s1_root / S1_PATCH / f"{S1_PATCH}_VV.tif"
    rewrite_band(band, lambda values: np.full_like(values, np.nan))
    out = empty_out(tmp_path)
    code = run_index(s1_root, s2_root, out, "--non-finite", "repair")
    assert_fails_naming(capsys, code, out, band, "14400 of 14400 pixels are NaN or infinite")


def _break_locations(root: Path, locations: list[str]) -> None:
    """The first scene of each location loses its B3 band."""
    for location in locations:
        (sorted((root / "s2a" / location).iterdir())[0] / "B3.tif").unlink()


def test_skip_bad_with_every_item_bad_lists_them_then_stops(
    ssl4eo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ssl4eo"
    shutil.copytree(ssl4eo_root, root)
    locations = sorted(SSL4EO_LOCATIONS)
    _break_locations(root, locations[1:])
    (sorted((root / "s1" / locations[0]).iterdir())[0] / "VH.tif").unlink()
    out = tmp_path / "out" / "index.parquet"
    out.parent.mkdir()
    code = main(["index", "ssl4eo-s12", "--root", str(root), "--out", str(out), "--skip-bad"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    total = len(locations)
    assert f"nothing to index: {total} item(s) skipped, listed in {skipped_path(out)}" in err[0]
    assert f"most common reason ({total - 1} of {total}): B3.tif: missing band file" in err[0]
    assert not out.exists()
    skipped = pd.read_csv(skipped_path(out), sep="\t", dtype=str, keep_default_na=False)
    assert list(skipped["item"]) == locations
    assert skipped["reason"].str.len().gt(0).all()
    assert skipped.set_index("item").loc[locations[0], "file"].endswith("VH.tif")


def test_skip_bad_closing_line_names_the_most_common_reason(
    ssl4eo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ssl4eo"
    shutil.copytree(ssl4eo_root, root)
    _break_locations(root, ["0000002", "0000005"])
    out = tmp_path / "index.parquet"
    code = main(["index", "ssl4eo-s12", "--root", str(root), "--out", str(out), "--skip-bad"])
    assert code == 0
    err = capsys.readouterr().err
    assert "2 item(s) skipped" in err and "most common reason (2 of 2): B3.tif: missing" in err
    assert not pd.read_parquet(out)["patch_id"].str.startswith(("0000002", "0000005")).any()


def test_skip_bad_with_every_bigearthnet_patch_bad_writes_the_list(
    v1_archive: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1_root, s2_root = v1_archive
    for band in s2_root.glob("*/*_B04.tif"):
        truncate(band)
    out = tmp_path / "index.parquet"
    assert run_index(s1_root, s2_root, out, "--skip-bad") == 2
    assert "nothing to index: 6 item(s) skipped" in capsys.readouterr().err
    assert len(pd.read_csv(skipped_path(out), sep="\t")) == 6


def test_most_common_skip_reason_groups_messages_quoting_their_own_file(tmp_path) -> None:
    """GDAL quotes the file's own path in its message: six such items are one reason."""
    from csmoe.index.table import skipped_summary

    skipped = [
        ("", f"000000{i}", f"/data/s2a/000000{i}/T3{i}TMR/B2.tif",
         f"unreadable GeoTIFF ('/data/s2a/000000{i}/T3{i}TMR/B2.tif' not recognized)")
        for i in range(1, 7)
    ]  # fmt: skip
    summary = skipped_summary(skipped, tmp_path / "idx.parquet")
    assert "most common reason (6 of 6): B2.tif: unreadable GeoTIFF" in summary
