"""Land-cover products as delivered: CORINE's signed nodata, ESA WorldCover's tiles, coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import shapely
from landcover_products import write_corine_int8, write_worldcover_tiles
from rasterio.transform import from_origin

from csmoe.descriptors import landcover, worldcover, zonal
from csmoe.descriptors.legend import read_legend
from csmoe.errors import InputError


def lonlat_index(points: list[tuple[float, float]], side: float = 2640) -> pd.DataFrame:
    """An index of SSL4EO-S12-like patches: `side` m squares in the UTM zone of each point."""
    rows = []
    for i, (lon, lat) in enumerate(points):
        epsg = (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) % 60 + 1
        x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
        rows.append({"patch_id": f"p{i}", "utm_epsg": epsg, "utm_ulx": x - side / 2,
                     "utm_uly": y + side / 2, "utm_lrx": x + side / 2,
                     "utm_lry": y - side / 2})  # fmt: skip
    return pd.DataFrame(rows)


def test_corine_int8_nodata_is_no_land_cover_across_the_edge(tmp_path: Path) -> None:
    """A patch across the edge of CORINE's mapped area (nodata -128) is partly covered; a
    patch beyond the raster's frame is uncovered; neither stops the stage."""
    raster, legend_path = write_corine_int8(
        tmp_path / "U2018_CLC2018_V2020_20u1.tif", 4_500_000, 3_500_000, 200, mapped_cols=100
    )
    # Patch centres in EPSG:3035: inside, on the last mapped column's edge, beyond the frame.
    centres = [(4_505_000, 3_495_000), (4_510_000, 3_490_000), (4_530_000, 3_300_000)]
    to_utm = pyproj.Transformer.from_crs(3035, 32634, always_xy=True)
    x, y = to_utm.transform(*np.array(centres, dtype=float).T)
    index = pd.DataFrame({
        "patch_id": ["inside", "edge", "far"], "utm_epsg": 32634,
        "utm_ulx": x - 600, "utm_uly": y + 600, "utm_lrx": x + 600, "utm_lry": y - 600,
    })  # fmt: skip
    frame = landcover.from_raster(index, raster, read_legend(legend_path))
    valid = frame["landcover_valid"].to_numpy()
    assert valid[0] == 1.0 and 0.2 < valid[1] < 0.8 and valid[2] == 0.0
    np.testing.assert_allclose(frame[landcover.level_columns("3")].sum(axis=1)[:2], 1.0, 1e-6)
    assert frame["landcover_l3"].isna().tolist() == [False, False, True]


def test_corine_legend_nodata_row_counts_against_coverage(tmp_path: Path) -> None:
    """The legend's own NODATA row (48, CLC_CODE 999) is no land cover either."""
    raster, legend_path = write_corine_int8(
        tmp_path / "clc.tif", 4_500_000, 3_500_000, 200, mapped_cols=200
    )
    # The upper-left 2 km x 2 km hold the NODATA class; a 1.2 km patch centred on its
    # lower-right corner has about a quarter of its pixels there.
    to_utm = pyproj.Transformer.from_crs(3035, 32634, always_xy=True)
    x, y = to_utm.transform(4_502_000, 3_498_000)
    index = pd.DataFrame({"patch_id": ["corner"], "utm_epsg": 32634, "utm_ulx": [x - 600],
                          "utm_uly": [y + 600], "utm_lrx": [x + 600],
                          "utm_lry": [y - 600]})  # fmt: skip
    frame = landcover.from_raster(index, raster, read_legend(legend_path))
    assert 0.6 < frame["landcover_valid"].iloc[0] < 0.9


def test_signed_and_wide_rasters_classify_by_value(tmp_path: Path) -> None:
    for dtype, nodata in (("int16", -32768), ("int32", -1), ("uint32", 4_000_000_000)):
        values = np.array([[5, 7], [nodata, 5]], dtype=dtype)
        path = tmp_path / f"{dtype}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1, dtype=dtype,
                           crs="EPSG:32633", transform=from_origin(0, 200, 100, 100),
                           nodata=nodata) as dst:  # fmt: skip
            dst.write(values, 1)
        quads = np.array([[[0, 200], [200, 200], [200, 0], [0, 0]]], float)
        result = zonal.class_counts(path, quads, {5: 0, 7: 1}, 2)
        assert result.counts.tolist() == [[2, 1]] and result.pixels.tolist() == [4], dtype


@pytest.mark.parametrize("dtype", ["uint8", "int16"])
def test_large_footprints_across_the_raster_edge_equal_rasterstats(tmp_path: Path, dtype) -> None:
    """10 m rasters, 2.64 km footprints from another UTM zone (rotated), some across the
    raster's edge: class counts as rasterstats counts them, the outside as no data."""
    from rasterstats import zonal_stats

    rng = np.random.default_rng(5)
    values = np.repeat(np.repeat(rng.integers(1, 9, (60, 60)), 16, 0), 16, 1).astype(dtype)
    raster = tmp_path / f"{dtype}.tif"
    with rasterio.open(raster, "w", driver="GTiff", width=960, height=960, count=1,
                       dtype=dtype, crs="EPSG:32633", nodata=0,
                       transform=from_origin(800_000, 5_000_000, 10, 10)) as dst:  # fmt: skip
        dst.write(values, 1)
    to_lonlat = pyproj.Transformer.from_crs(32633, 4326, always_xy=True)
    points = [to_lonlat.transform(800_000 + x, 5_000_000 - y)
              for x, y in ((4800, 4800), (300, 3000), (9400, 9000), (2000, 200))]  # fmt: skip
    index = lonlat_index(points)
    quads = zonal.footprint_quads(index, "EPSG:32633")
    result = zonal.class_counts(raster, quads, {v: v - 1 for v in range(1, 9)}, 8,
                                outside="nodata")  # fmt: skip
    theirs = zonal_stats(list(shapely.polygons(quads)), str(raster), categorical=True, nodata=0)
    expected = np.array([[s.get(v, 0) for v in range(1, 9)] for s in theirs])
    np.testing.assert_array_equal(result.counts, expected)
    assert (result.counts.sum(axis=1)[1:] < result.pixels[1:]).all()  # across the edge
    assert result.counts.sum(axis=1)[0] == result.pixels[0] > 60_000


POINTS = [(12.0, 41.7), (-47.9, -15.8), (77.2, 28.6), (-99.1, 19.4), (151.2, -33.9)]


@pytest.fixture(scope="module")
def tiles(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("worldcover")
    write_worldcover_tiles(folder, POINTS + [(-28.5, 40.5)], skip=((-30, 39),))
    return folder


def test_worldcover_tiles_are_found_and_checked(tiles: Path) -> None:
    found = worldcover.find_tiles(tiles)
    names = {t.path.name for t in found}
    # 12.0 E lies on the edge of two tiles: both exist, and the footprint spans them.
    assert "ESA_WorldCover_10m_2021_v200_N39E009_Map.tif" in names
    assert "ESA_WorldCover_10m_2021_v200_N39E012_Map.tif" in names
    assert "ESA_WorldCover_10m_2021_v200_S18W048_Map.tif" in names
    assert all(t.path.parent.name.startswith("ESA_WorldCover_10m_2021_v200_60deg_") for t in found)


def test_worldcover_fractions_equal_rasterstats_summed_over_tiles(tiles: Path) -> None:
    """Ours over the mosaic against rasterstats on each tile file separately."""
    from rasterstats import zonal_stats

    index = lonlat_index(POINTS + [(-28.5, 40.5)])
    frame = worldcover.from_tiles(index, tiles)
    quads = zonal.footprint_quads(index, "EPSG:4326")
    polygons = list(shapely.polygons(quads))
    expected = np.zeros((len(index), len(worldcover.CODES)))
    for tile in worldcover.find_tiles(tiles):
        stats = zonal_stats(polygons, str(tile.path), categorical=True, nodata=0)
        for row, counts in enumerate(stats):
            for value, count in counts.items():
                expected[row, worldcover.CODES.index(int(value))] += count
    total = expected.sum(axis=1, keepdims=True)
    fractions = np.divide(expected, total, out=np.zeros_like(expected), where=total > 0)
    np.testing.assert_allclose(frame[worldcover.COLUMNS].to_numpy(), fractions, atol=1e-6)
    assert total[0, 0] > 50_000  # a 2.64 km footprint at 10 m, across two tiles
    valid = frame["landcover_valid"].to_numpy()
    assert (valid[:-1] > 0.99).all() and valid[-1] == 0.0  # open ocean: no tile
    assert frame[worldcover.DOMINANT].isna().tolist() == [False] * len(POINTS) + [True]


def test_worldcover_tile_problems_are_named(tmp_path: Path, tiles: Path) -> None:
    with pytest.raises(InputError, match="no ESA WorldCover map tiles"):
        worldcover.find_tiles(tmp_path)
    with pytest.raises(InputError, match="tile folder does not exist"):
        worldcover.find_tiles(tmp_path / "missing")
    wrong = tmp_path / "wrong"
    path = wrong / "ESA_WorldCover_10m_2021_v200_N00E000_Map.tif"
    path.parent.mkdir()
    with rasterio.open(path, "w", driver="GTiff", width=30, height=30, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=from_origin(3, 3, 0.1, 0.1),
                       nodata=0) as dst:  # fmt: skip
        dst.write(np.full((30, 30), 10, np.uint8), 1)
    with pytest.raises(InputError, match=r"N00E000_Map.tif: bounds .* are not those of its name"):
        worldcover.find_tiles(wrong)
    copy = tmp_path / "copy"
    original = next(p for p in tiles.rglob("*N39E012_Map.tif"))
    for sub in ("a", "b"):
        (copy / sub).mkdir(parents=True)
        (copy / sub / original.name).write_bytes(original.read_bytes())
    with pytest.raises(InputError, match="a second file for the tile"):
        worldcover.find_tiles(copy)


def test_semicolon_separated_legends_are_read(tmp_path: Path) -> None:
    path = tmp_path / "clc_legend.csv"
    path.write_text("GRID_CODE;CLC_CODE;LABEL3\n1;111;Continuous urban fabric\n48;999;NODATA\n")
    legend = read_legend(path)
    assert legend.codes == (1, 48) and legend.symbols == ("111", "999")


def test_a_global_archive_gets_land_cover_strata_worldwide(
    ssl4eo_root: Path, koppen: tuple[Path, Path], tmp_path: Path
) -> None:
    """SSL4EO-S12 on six continents through the command line: index, descriptors from
    ESA WorldCover, thematic-climatic sampling and its report, which names the product."""
    import subprocess
    import sys

    from archives import SSL4EO_LOCATIONS

    tiles = tmp_path / "ESA WorldCover"
    write_worldcover_tiles(tiles, [(lon, lat) for lon, lat, *_ in SSL4EO_LOCATIONS.values()])

    def csmoe(*args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "csmoe", *map(str, args)],
                                cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
        assert result.returncode == 0, result.stderr

    csmoe("index", "ssl4eo-s12", "--root", ssl4eo_root, "--out", "index.parquet")
    csmoe("descriptors", "--index", "index.parquet", "--koppen-raster", koppen[0],
          "--koppen-legend", koppen[1], "--landcover", "worldcover", "--worldcover-tiles",
          tiles, "--out", "descriptors.parquet")  # fmt: skip
    csmoe("sample", "--descriptors", "descriptors.parquet", "--sampler", "thematic_climatic",
          "--size", "8", "--out", "tc.parquet", "--metrics", "tc.json",
          "--no-exclude-no-labels")  # fmt: skip
    csmoe("report", "--descriptors", "descriptors.parquet", "--manifest", "tc=tc.parquet",
          "--metrics", "tc=tc.json", "--table", "sampling.tsv", "--map", "map.png",
          "--distributions", "shares.png", "--descriptor-figure", "descriptors.png")  # fmt: skip
    table = pd.read_parquet(tmp_path / "descriptors.parquet")
    assert (table["landcover_valid"] > 0.99).all()
    assert set(table["landcover_product"]) == {"worldcover"}
    manifest = pd.read_parquet(tmp_path / "tc.parquet")
    outside_europe = manifest[~manifest["patch_id"].str.startswith("0000001")]
    codes = {int(s.split("|")[1]) for s in outside_europe["stratum"]}
    assert codes and codes <= set(worldcover.CODES)
    report = pd.read_csv(tmp_path / "sampling.tsv", sep="\t")
    assert report.loc[0, "landcover_product"] == "worldcover"
    assert report.loc[0, "landcover_level"] == "worldcover"
    assert report.loc[0, "no_landcover_patches"] == 0
    for figure in ("map.png", "shares.png", "descriptors.png"):
        assert (tmp_path / figure).stat().st_size > 1000
