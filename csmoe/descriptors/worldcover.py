"""Land-cover descriptor: ESA WorldCover 10 m class fractions, read from its tiles as
delivered.

The product (ESA WorldCover 10 m 2021 v200, and 2020 v100 on the same grid; Product User
Manual v2.0, and the tiles' own STAC items, e.g. ``ESA_WorldCover_10m_2021_v200_N39E012``
with ``proj:transform`` [1/12000, 0, 12, 0, -1/12000, 42]): 2,651 Cloud-Optimized GeoTIFFs
of 3 x 3 degrees in EPSG:4326, 36,000 x 36,000 px of 1/12,000 degree (about 10 m), uint8,
nodata 0, one file per tile named ``ESA_WorldCover_10m_<year>_<version>_<tile>_Map.tif``
by the tile's lower-left corner (``N39E012`` spans 39-42 N, 12-15 E). Tiles cover land and
coasts from 60 S to 84 N; open ocean has no tile. The download groups them in 60 x 60
degree zip files, so a folder of tiles may hold sub-folders: all are searched.

Classes (LCCS-based, 11): see `CLASSES`. Tiles are mosaicked as one GDAL virtual raster
(VRT), so footprints across tile edges are counted whole; where no tile lies, pixels are
nodata (outside the product's coverage).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import rasterio
from rasterio.errors import RasterioError

from csmoe.descriptors import zonal
from csmoe.errors import InputError

# Map value -> (name, colour as published in the product's legend).
CLASSES = {
    10: ("Tree cover", "006400"),
    20: ("Shrubland", "FFBB22"),
    30: ("Grassland", "FFFF4C"),
    40: ("Cropland", "F096FF"),
    50: ("Built-up", "FA0000"),
    60: ("Bare / sparse vegetation", "B4B4B4"),
    70: ("Snow and ice", "F0F0F0"),
    80: ("Permanent water bodies", "0064C8"),
    90: ("Herbaceous wetland", "0096A0"),
    95: ("Mangroves", "00CF75"),
    100: ("Moss and lichen", "FAE6A0"),
}
CODES = tuple(CLASSES)
NODATA = 0
TILE_DEGREES = 3
PIXEL_DEGREES = 1 / 12000
TILE_FILE = re.compile(r"^ESA_WorldCover_10m_(\d{4})_(v\d{3})_([NS])(\d{2})([EW])(\d{3})_Map\.tif$",
                       re.IGNORECASE)  # fmt: skip
COLUMNS = [f"wc_{code}" for code in CODES]
DOMINANT = "landcover_wc"


@dataclass(frozen=True)
class Tile:
    path: Path
    west: int  # lower-left corner, degrees
    south: int
    width: int
    height: int


def tile_name(west: int, south: int, year: int = 2021, version: str = "v200") -> str:
    """The map tile file of a lower-left corner, e.g. (12, 39) -> ``..._N39E012_Map.tif``."""
    ns, ew = ("N" if south >= 0 else "S"), ("E" if west >= 0 else "W")
    return f"ESA_WorldCover_10m_{year}_{version}_{ns}{abs(south):02d}{ew}{abs(west):03d}_Map.tif"


def tile_corner(name: str) -> tuple[int, int] | None:
    """(west, south) of a tile file name, e.g. ``..._N39E012_Map.tif`` -> (12, 39)."""
    found = TILE_FILE.match(name)
    if not found:
        return None
    _, _, ns, lat, ew, lon = found.groups()
    west = -int(lon) if ew.upper() == "W" else int(lon)
    return west, -int(lat) if ns.upper() == "S" else int(lat)


def find_tiles(folder: str | os.PathLike[str]) -> list[Tile]:
    """Every map tile under `folder`, checked against the product's grid."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "ESA WorldCover tile folder does not exist")
    tiles, seen = [], {}
    for path in sorted(folder.rglob("*_Map.tif"), key=lambda p: (p.name, str(p))):
        corner = tile_corner(path.name)
        if corner is None:
            continue
        if corner in seen:
            raise InputError(path, f"a second file for the tile of {seen[corner]}")
        seen[corner] = path
        tiles.append(_check_tile(path, *corner))
    if not tiles:
        raise InputError(folder, "no ESA WorldCover map tiles (ESA_WorldCover_10m_*_Map.tif)")
    sizes = {(t.width, t.height) for t in tiles}
    if len(sizes) > 1:
        raise InputError(folder, f"tiles of different pixel sizes {sorted(sizes)}")
    return tiles


def _check_tile(path: Path, west: int, south: int) -> Tile:
    try:
        with rasterio.open(path) as src:
            crs, dtype, count = src.crs, src.dtypes[0], src.count
            bounds, shape, nodata = src.bounds, src.shape, src.nodata
    except RasterioError as error:
        raise InputError(path, f"unreadable GeoTIFF ({error})") from None
    if crs is None or crs.to_epsg() != 4326:
        raise InputError(path, f"expected EPSG:4326 (ESA WorldCover), found {crs}")
    if count != 1 or dtype != "uint8":
        raise InputError(path, f"expected one uint8 band, found {count} of {dtype}")
    if nodata is not None and nodata != NODATA:
        raise InputError(path, f"expected nodata {NODATA}, found {nodata}")
    expected = (west, south, west + TILE_DEGREES, south + TILE_DEGREES)
    half_pixel = 0.5 * TILE_DEGREES / max(shape)
    if any(abs(a - b) > half_pixel for a, b in zip(bounds, expected, strict=True)):
        raise InputError(path, f"bounds {tuple(bounds)} are not those of its name {expected}")
    return Tile(path, west, south, shape[1], shape[0])


def mosaic_vrt(tiles: list[Tile]) -> str:
    """A GDAL VRT of all tiles on their common grid (nodata where no tile lies)."""
    px = tiles[0].width // TILE_DEGREES  # pixels per degree
    west, north = min(t.west for t in tiles), max(t.south for t in tiles) + TILE_DEGREES
    east, south = max(t.west for t in tiles) + TILE_DEGREES, min(t.south for t in tiles)
    width, height = (east - west) * px, (north - south) * px
    sources = []
    for tile in tiles:
        x, y = (tile.west - west) * px, (north - tile.south - TILE_DEGREES) * px
        sources.append(
            f'<SimpleSource><SourceFilename relativeToVRT="0">{escape(str(tile.path.absolute()))}'
            f"</SourceFilename><SourceBand>1</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{tile.width}" ySize="{tile.height}"/>'
            f'<DstRect xOff="{x}" yOff="{y}" xSize="{tile.width}" ySize="{tile.height}"/>'
            f"</SimpleSource>"
        )
    return (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
        f"<SRS>EPSG:4326</SRS><GeoTransform>{west}, {1 / px!r}, 0, {north}, 0, {-1 / px!r}"
        f'</GeoTransform><VRTRasterBand dataType="Byte" band="1">'
        f"<NoDataValue>{NODATA}</NoDataValue>{''.join(sources)}</VRTRasterBand></VRTDataset>"
    )


def from_tiles(index: pd.DataFrame, folder: str | os.PathLike[str]) -> pd.DataFrame:
    """WorldCover class fractions of every footprint, its dominant class and covered share."""
    tiles = find_tiles(folder)
    with tempfile.TemporaryDirectory(prefix="worldcover-") as scratch:
        vrt = Path(scratch) / "mosaic.vrt"
        vrt.write_text(mosaic_vrt(tiles))
        quads = zonal.footprint_quads(index, "EPSG:4326")
        result = zonal.class_counts(
            vrt, quads, {code: i for i, code in enumerate(CODES)}, len(CODES),
            names=index["patch_id"].to_numpy(), outside="nodata",
        )  # fmt: skip
    return describe(result.counts.astype(np.float64), result.pixels, index.index)


def describe(counts: np.ndarray, pixels: np.ndarray, index: pd.Index) -> pd.DataFrame:
    total = counts.sum(axis=1)
    fractions = np.divide(counts, total[:, None], out=np.zeros_like(counts),
                          where=total[:, None] > 0)  # fmt: skip
    frame = pd.DataFrame(fractions.astype(np.float32), columns=COLUMNS)
    dominant = np.asarray(CODES)[fractions.argmax(axis=1)]
    frame[DOMINANT] = pd.array(np.where(total > 0, dominant, 0), dtype="Int16")
    frame.loc[total == 0, DOMINANT] = pd.NA
    valid = np.divide(total, pixels, out=np.zeros(len(total)), where=pixels > 0)
    frame["landcover_valid"] = valid.astype(np.float32)
    return frame.set_index(index)


def class_name(code: int | str) -> str:
    """``10`` -> ``10 Tree cover``."""
    entry = CLASSES.get(int(code))
    return f"{code} {entry[0]}" if entry else str(code)


def class_colour(code: int | str) -> tuple[float, float, float] | None:
    entry = CLASSES.get(int(code))
    if entry is None:
        return None
    return tuple(int(entry[1][i : i + 2], 16) / 255 for i in (0, 2, 4))


def tiles_touched(index: pd.DataFrame) -> int:
    """How many 3-degree tiles the footprints of `index` touch (for benchmarks)."""
    quads = zonal.footprint_quads(index, "EPSG:4326")
    lon = np.floor(quads[..., 0] / TILE_DEGREES).astype(int)
    lat = np.floor(quads[..., 1] / TILE_DEGREES).astype(int)
    return len({(a, b) for a, b in zip(lon.ravel(), lat.ravel(), strict=True)}) if len(index) else 0
