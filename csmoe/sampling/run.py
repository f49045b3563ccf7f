"""Sampling stage entry points: one manifest (+ metrics), and the per-archive report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from csmoe import parquet
from csmoe.atomic import atomic_path, write_text
from csmoe.errors import InputError
from csmoe.sampling import basemap, report
from csmoe.sampling.metrics import selection_metrics
from csmoe.sampling.pool import training_pool
from csmoe.sampling.samplers import lonlat, sample, strata, uncovered


def read_table(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    return parquet.read_table(path, "GeoParquet file", geo=True)


def effective_landcover_level(table: gpd.GeoDataFrame, requested: str) -> str:
    """The requested CLC level for CORINE-described archives (raster or labels), WorldCover's
    classes for WorldCover-described ones, climate-only strata for archives without land
    cover."""
    if requested == "none":
        return "none"
    if "landcover_l3" in table:
        return requested
    return "worldcover" if "landcover_wc" in table else "none"


def landcover_product(table: pd.DataFrame) -> str:
    """The product the descriptors were computed from (``none`` without land cover)."""
    if "landcover_product" in table and table["landcover_product"].notna().any():
        return str(table["landcover_product"].dropna().iloc[0])
    return "none"


def run_sampling(
    descriptors: str | os.PathLike[str],
    sampler: str,
    out: str | os.PathLike[str],
    metrics_out: str | os.PathLike[str],
    *,
    size: int | None,
    seed: int,
    climate_level: str = "group",
    landcover_level: str = "2",
    no_landcover: str = "climate_only",
    alpha: float = 0.5,
    exclude_snow: bool = True,
    exclude_cloud: bool = True,
    exclude_no_labels: bool = True,
) -> gpd.GeoDataFrame:
    """One manifest and its metrics; pool patches without a land-cover descriptor follow
    `no_landcover` (`csmoe.sampling.samplers.NO_LANDCOVER`), and the metrics count them."""
    table = read_table(descriptors)
    pool, removed = training_pool(
        table, snow=exclude_snow, cloud=exclude_cloud, no_labels=exclude_no_labels,
        source=str(descriptors),
    )  # fmt: skip
    level = effective_landcover_level(table, landcover_level)
    lacking = uncovered(pool, level)
    if no_landcover == "exclude":
        pool, removed["no_landcover"] = pool[~lacking], int(lacking.sum())
        if pool.empty:
            raise InputError(descriptors, "no pool patch has a land-cover descriptor")
    levels = {"climate_level": climate_level, "landcover_level": level,
              "no_landcover": no_landcover}  # fmt: skip
    manifest = sample(sampler, pool, size, seed=seed, alpha=alpha, **levels)
    manifest = gpd.GeoDataFrame(manifest, geometry="geometry", crs=table.crs)
    metrics = selection_metrics(pool, strata(pool, **levels), manifest, seed=seed)
    requested = len(pool) if sampler == "full" else size
    metrics |= {"pool": len(pool), "archive_patches": len(table)}
    metrics["shortfall"] = requested - len(manifest)  # patches asked for but not found
    metrics |= {f"excluded_{k}": v for k, v in removed.items()}
    metrics |= {"alpha": alpha if sampler == "thematic_climatic" else None, **levels}
    metrics["landcover_product"] = landcover_product(table)
    metrics["no_landcover_patches"] = int(lacking.sum())  # pool patches the policy touched
    with atomic_path(out) as tmp:
        manifest.to_parquet(tmp, index=False, compression="zstd")
    write_text(metrics_out, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return manifest


def write_sampling_report(
    archive: str,
    descriptors: str | os.PathLike[str],
    manifests: dict[str, str | os.PathLike[str]],
    metrics: dict[str, str | os.PathLike[str]],
    *,
    table_out: str | os.PathLike[str],
    map_out: str | os.PathLike[str],
    distributions_out: str | os.PathLike[str],
    koppen: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    water: tuple[str, ...] = ("Ocean",),
    exclude_snow: bool = True,
    exclude_cloud: bool = True,
    exclude_no_labels: bool = True,
) -> None:
    """sampling.tsv and the two figures of one archive; `koppen` (raster, legend) draws
    land and sea under the map."""
    table = read_table(descriptors)
    pool, _ = training_pool(
        table, snow=exclude_snow, cloud=exclude_cloud, no_labels=exclude_no_labels
    )
    loaded = {name: read_table(path) for name, path in manifests.items()}
    summary = report.metrics_table(archive, metrics)
    with atomic_path(table_out) as tmp:
        summary.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    drawn = {k: v for k, v in loaded.items() if k != "full"} or loaded
    land = None
    if koppen is not None:
        extent = basemap.Extent.around(lonlat(pool))
        land = basemap.land_mask(*koppen, water, extent)
    report.plot_map(archive, pool, drawn, map_out, land=land)
    levels = summary.get("landcover_level", pd.Series(dtype=str)).dropna()
    level = str(levels.iloc[0]) if len(levels) else "2"
    report.plot_distributions(
        archive, pool, drawn, distributions_out, landcover=report.figure_landcover(pool, level)
    )


def write_reports(
    descriptors: str | os.PathLike[str],
    archive: str | None = None,
    *,
    koppen: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    water: tuple[str, ...] = ("Ocean",),
    manifests: dict[str, str | os.PathLike[str]] | None = None,
    metrics: dict[str, str | os.PathLike[str]] | None = None,
    table_out=None,
    map_out=None,
    distributions_out=None,
    descriptor_figure=None,
    **exclusions: bool,
) -> None:
    """The descriptor figure (with `descriptor_figure`) and the sampling report (with
    `manifests`) of one archive, named `archive` (default: the descriptors file's name)."""
    archive = archive or Path(descriptors).name.removesuffix(".parquet")
    if descriptor_figure:
        table = read_table(descriptors)
        landcover = report.figure_landcover(table)
        report.plot_descriptor_summary(archive, table, landcover, descriptor_figure)
    if manifests:
        write_sampling_report(
            archive, descriptors, manifests, metrics or {}, table_out=table_out,
            map_out=map_out, distributions_out=distributions_out, koppen=koppen, water=water,
            **exclusions,
        )  # fmt: skip
