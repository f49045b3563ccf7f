"""Sampling report: a metrics table and figures comparing manifests with their pool.

Figures name the archive in their title and classes by name (`class_names`); class
shares and counts are drawn on a log scale, so that rare classes, which the stratified
sampler is there to keep, stay visible. The `full` manifest is the pool itself and is
left out of the figures (it stays in the table).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from csmoe.atomic import atomic_path  # noqa: E402
from csmoe.descriptors import worldcover  # noqa: E402
from csmoe.descriptors.class_names import clc_name, koppen_name  # noqa: E402
from csmoe.descriptors.koppen import COLOURS as KOPPEN_COLOURS  # noqa: E402
from csmoe.sampling import basemap  # noqa: E402
from csmoe.sampling.metrics import selected_rows, shares  # noqa: E402
from csmoe.sampling.samplers import lonlat  # noqa: E402

DPI = 110
POOL_COLOUR = "0.45"
SAMPLER_COLOURS = {"thematic_climatic": "tab:red", "random": "tab:blue"}
# Columns of sampling.tsv, in reading order (any others follow).
TABLE_COLUMNS = (
    "archive", "sampler", "size", "shortfall", "distinct_footprints", "pool",
    "archive_patches", "strata_covered", "strata_total", "js_climate", "js_landcover",
    "entropy_strata", "entropy_climate", "entropy_landcover", "mean_nn_hellinger",
    "mean_nn_km", "cells_1deg", "landcover_product", "landcover_level", "no_landcover",
    "no_landcover_patches",
)  # fmt: skip
UNCOVERED = "none"  # the stratum part of patches without a land-cover descriptor


def metrics_table(archive: str, metrics: dict[str, str | os.PathLike[str]]) -> pd.DataFrame:
    """One row per sampler from the ``<sampler>.metrics.json`` files of `archive`."""
    rows = [
        {"archive": archive, "sampler": name} | json.loads(Path(path).read_text())
        for name, path in metrics.items()
    ]
    table = pd.DataFrame(rows)
    first = [c for c in TABLE_COLUMNS if c in table]
    return table[first + sorted(c for c in table if c not in first)]


def _save(fig: plt.Figure, out: str | os.PathLike[str]) -> None:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)


def _colour(name: str, i: int) -> str:
    return SAMPLER_COLOURS.get(name, f"C{i + 2}")


def _marker_size(count: int) -> float:
    """Points (area) that stay visible for 50 patches and do not merge for 50,000."""
    return float(np.clip(3000.0 / max(count, 1), 0.4, 30.0))


# Pools of more patches than this are drawn as the selected share per grid cell: points
# of 100,000s of patches fill every panel alike, whichever sampler drew from them.
POINTS_UP_TO = 20_000
CELL_DEGREES = 1.0
SHARE_COLOURS = "RdBu_r"  # below the overall share blue, above it red, at it white


def cell_shares(pool: pd.DataFrame, manifest: pd.DataFrame,
                degrees: float = CELL_DEGREES) -> pd.DataFrame:  # fmt: skip
    """Per grid cell of `degrees` holding pool patches: its south-west corner (`lon`,
    `lat`), the pool patches (`pool`) and the selected ones (`selected`) whose centres
    lie in it, and `share` = selected / pool."""

    def cells(table: pd.DataFrame) -> pd.Series:
        xy = np.floor(lonlat(table) / degrees).astype(np.int64)
        return pd.Series(1, index=pd.MultiIndex.from_arrays(xy.T, names=["i", "j"]))

    counts = pd.DataFrame({"pool": cells(pool).groupby(level=[0, 1]).size()})
    selected = cells(manifest).groupby(level=[0, 1]).size()
    counts["selected"] = selected.reindex(counts.index, fill_value=0)
    counts = counts.reset_index().sort_values(["j", "i"], ignore_index=True)
    counts.insert(0, "lat", counts.pop("j") * degrees)
    counts.insert(0, "lon", counts.pop("i") * degrees)
    counts["share"] = counts["selected"] / counts["pool"]
    return counts


def _share_grid(cells: pd.DataFrame, extent: basemap.Extent, degrees: float):
    """Cell edges over `extent` and the share per cell (NaN where the pool has none)."""
    west, south = np.floor(extent.west / degrees), np.floor(extent.south / degrees)
    east, north = np.ceil(extent.east / degrees), np.ceil(extent.north / degrees)
    lon = np.arange(west, east + 1) * degrees
    lat = np.arange(south, north + 1) * degrees
    grid = np.full((len(lat) - 1, len(lon) - 1), np.nan)
    i = np.round(cells["lon"].to_numpy() / degrees - west).astype(int)
    j = np.round(cells["lat"].to_numpy() / degrees - south).astype(int)
    inside = (i >= 0) & (i < grid.shape[1]) & (j >= 0) & (j < grid.shape[0])
    grid[j[inside], i[inside]] = cells["share"].to_numpy()[inside]
    return lon, lat, grid


def _map_figure(count: int, extent: basemap.Extent, extra_height: float = 0.0):
    width = 4.6 * count
    height = min(max(4.6 * extent.aspect * (extent.north - extent.south)
                     / max(extent.east - extent.west, 1e-6), 3.0), 9.0) + 1.0  # fmt: skip
    return plt.subplots(1, count, figsize=(width, height + extra_height), squeeze=False,
                        sharey=True, layout="constrained")  # fmt: skip


def _prepare(ax, land: basemap.LandMask | None, extent: basemap.Extent) -> None:
    if land is not None:
        basemap.draw(ax, land)
    else:
        ax.set_aspect(extent.aspect)
        ax.set_xlabel("longitude (°E)")


def plot_map(
    archive: str, pool: pd.DataFrame, manifests: dict[str, pd.DataFrame], out,
    *, land: basemap.LandMask | None = None, points_up_to: int = POINTS_UP_TO,
    degrees: float = CELL_DEGREES,
) -> None:  # fmt: skip
    """One panel per sampler, on land and sea: the pool (grey) and the selected patches
    as points; for a pool of more than `points_up_to` patches, the share of each
    `degrees` cell's pool patches that the sampler selected (`plot_share_map`)."""
    if len(pool) > points_up_to:
        plot_share_map(archive, pool, manifests, out, land=land, degrees=degrees)
        return
    pool_xy = lonlat(pool)
    extent = land.extent if land is not None else basemap.Extent.around(pool_xy)
    fig, axes = _map_figure(len(manifests), extent)
    for i, (ax, (name, manifest)) in enumerate(zip(axes[0], manifests.items(), strict=True)):
        _prepare(ax, land, extent)
        xy = lonlat(manifest)
        ax.scatter(*pool_xy.T, s=_marker_size(len(pool)), c=POOL_COLOUR, linewidths=0,
                   alpha=0.5, rasterized=True, zorder=2,
                   label=f"training pool ({len(pool):,})")  # fmt: skip
        ax.scatter(*xy.T, s=_marker_size(len(manifest)), c=_colour(name, i), linewidths=0,
                   rasterized=True, zorder=3, label=f"selected ({len(manifest):,})")  # fmt: skip
        ax.set_title(name.replace("_", "-"), fontsize=10)
        ax.legend(loc="best", fontsize=8, markerscale=max(1.0, 4 / _marker_size(len(pool))))
    axes[0, 0].set_ylabel("latitude (°N)")
    fig.suptitle(f"{archive}: where each sampler's training patches lie", fontsize=11)
    _save(fig, out)


def plot_share_map(
    archive: str, pool: pd.DataFrame, manifests: dict[str, pd.DataFrame], out,
    *, land: basemap.LandMask | None = None, degrees: float = CELL_DEGREES,
) -> None:  # fmt: skip
    """Per `degrees` cell, the share of its pool patches each sampler selected, in bins
    of factors of the overall share (selected / pool): white within 1.25x of it, red
    above, blue below, one colour step per factor of 2. A sampler that takes every
    part of the pool alike is white everywhere but for chance; one that favours rare
    strata is red where they lie. Cells whose pool patches were all left out are grey."""
    from matplotlib.colors import BoundaryNorm
    from matplotlib.patches import Patch

    extent = land.extent if land is not None else basemap.Extent.around(lonlat(pool))
    shares = {name: cell_shares(pool, manifest, degrees) for name, manifest in manifests.items()}
    overall = max(len(m) for m in manifests.values()) / max(len(pool), 1)
    ratios = [c["share"][c["share"] > 0] / overall for c in shares.values()]
    spread = max((float(np.abs(np.log2(r)).max()) for r in ratios if len(r)), default=0.0)
    steps = int(np.clip(np.ceil(spread), 2, 8))
    factors = [2.0**k for k in range(-steps, 0)] + [1 / 1.25, 1.25]
    factors += [2.0**k for k in range(1, steps + 1)]
    edges = 100 * overall * np.array(sorted(factors))
    colours = plt.get_cmap(SHARE_COLOURS)(np.linspace(0, 1, len(edges) + 1))  # under, bins
    kept = int(np.searchsorted(edges, 100.0))  # no share is above 100 %: bins end there
    edges = np.append(edges[:kept], 100.0)
    cmap = matplotlib.colors.ListedColormap(colours[: kept + 1])  # the first: below the bins
    norm = BoundaryNorm(edges, cmap.N, extend="min")
    fig, axes = _map_figure(len(manifests), extent, extra_height=0.6)
    mesh = None
    for ax, (name, cells) in zip(axes[0], shares.items(), strict=True):
        _prepare(ax, land, extent)
        lon, lat, grid = _share_grid(cells, extent, degrees)
        empty = np.where(grid == 0, 1.0, np.nan)
        ax.pcolormesh(lon, lat, empty, cmap=matplotlib.colors.ListedColormap([POOL_COLOUR]),
                      alpha=0.6, zorder=2, rasterized=True)  # fmt: skip
        shown = np.where(grid > 0, 100 * grid, np.nan)
        mesh = ax.pcolormesh(lon, lat, np.ma.masked_invalid(shown), cmap=cmap,
                             norm=norm, edgecolors="none", zorder=3, rasterized=True)  # fmt: skip
        chosen = int(cells["selected"].sum())
        ax.set_title(f"{name.replace('_', '-')}: {chosen:,} of {len(pool):,} pool patches "
                     f"({100 * chosen / max(len(pool), 1):.2g} %)", fontsize=10)  # fmt: skip
        ax.legend(handles=[Patch(color=POOL_COLOUR, alpha=0.6,
                                 label="pool patches, none selected")],
                  loc="best", fontsize=8)  # fmt: skip
    axes[0, 0].set_ylabel("latitude (°N)")
    bar = fig.colorbar(mesh, ax=axes[0].tolist(), location="bottom", shrink=0.7, aspect=40)
    bar.set_ticks(edges, labels=[f"{edge:.3g}" for edge in edges], fontsize=8)
    bar.set_label(f"share of the pool patches of each {degrees:g}° cell that the sampler "
                  f"selected (%; white: within 1.25x of the overall {100 * overall:.2g} %)",
                  fontsize=9)  # fmt: skip
    fig.suptitle(f"{archive}: which share of the training pool each sampler takes, per "
                 f"{degrees:g}° cell", fontsize=11)  # fmt: skip
    _save(fig, out)


def _log_percent_axis(ax, smallest: float) -> None:
    """Log-scaled shares labelled in percent (1-2-5 ticks over short ranges)."""
    ax.set_xscale("log")
    decades = np.log10(1.0 / max(smallest, 1e-9))
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0,) if decades > 2.5 else (1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g} %"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def figure_landcover(table: pd.DataFrame, level: str = "2") -> str | None:
    """The land-cover column to draw: CLC at the strata `level` where described, else
    BigEarthNet-19 (land cover from labels), else WorldCover's classes, else none."""
    for column in (f"landcover_l{level}", "landcover_l2", "landcover_19", "landcover_wc"):
        if column in table and table[column].notna().any():
            return column
    return None


def _classes_of(table: pd.DataFrame, column: str) -> pd.Series:
    """A class column as strings; land cover missing (outside the product's coverage)
    becomes its own class, so figures show how many patches lack it."""
    values = table[column].astype("string")
    return values.fillna(UNCOVERED) if column.startswith("landcover") else values.dropna()


def _class_label(column: str, value: str) -> str:
    if column == "climate":
        return koppen_name(value)
    if value == UNCOVERED and column.startswith("landcover"):
        return "no land cover (outside coverage)"
    if column == "landcover_wc":
        return worldcover.class_name(value)
    if column.startswith("landcover_l"):
        return clc_name(value, column.removeprefix("landcover_l"))
    return value


def _class_colour(column: str, value: str) -> str | tuple[float, ...]:
    """Köppen-Geiger classes in their usual map colours; other classes one blue."""
    if column == "climate" and value in KOPPEN_COLOURS:
        return tuple(c / 255 for c in KOPPEN_COLOURS[value])
    if value == UNCOVERED:
        return "0.8"
    if column == "landcover_wc":
        return worldcover.class_colour(value) or "tab:blue"
    return "tab:blue"


PRODUCT_NAMES = {
    "corine": "CORINE Land Cover raster",
    "labels": "CORINE labels of the patches",
    "worldcover": "ESA WorldCover 10 m",
}


def _axis_title(column: str, table: pd.DataFrame) -> str:
    if column == "climate":
        return "Köppen-Geiger climate class (majority over the patch)"
    product = "corine"
    if "landcover_product" in table and table["landcover_product"].notna().any():
        product = str(table["landcover_product"].dropna().iloc[0])
    source = PRODUCT_NAMES.get(product, product)
    if column == "landcover_wc":
        return f"Land cover: {source}, 11 classes (dominant class)"
    if column.startswith("landcover_l"):
        return f"Land cover: {source}, CLC level {column[-1]} (dominant class)"
    return f"Land cover: {source}, BigEarthNet-19 (dominant class)"


def _class_order(value: str) -> tuple[int, float, str]:
    """Numeric class codes in numeric order (WorldCover's 100 after 95), names by name,
    the missing class last."""
    if value == UNCOVERED:
        return (2, 0.0, value)
    return (0, float(value), value) if value.isdigit() else (1, 0.0, value)


def _class_panels(table: pd.DataFrame, landcover: str | None, *, width: float, row: float):
    """A figure with one horizontal-bar panel per class column (climate, land cover),
    as tall as its longest class list: (figure, [(axes, column), ...])."""
    columns = ["climate"] + ([landcover] if landcover else [])
    rows = max(_classes_of(table, c).nunique() for c in columns)
    fig, axes = plt.subplots(1, len(columns), figsize=(width * len(columns), 1.2 + row * rows),
                             squeeze=False, layout="constrained")  # fmt: skip
    return fig, list(zip(axes[0], columns, strict=True))


def plot_distributions(
    archive: str, pool: pd.DataFrame, manifests: dict[str, pd.DataFrame], out,
    *, landcover: str | None,
) -> None:  # fmt: skip
    """Class shares of the pool and of each manifest: climate, and land cover."""
    series = {"training pool": pool} | {n: selected_rows(pool, m) for n, m in manifests.items()}
    fig, panels = _class_panels(pool, landcover, width=7.5, row=0.32)
    for ax, column in panels:
        classes = pd.Index(sorted(_classes_of(pool, column).unique(), key=_class_order))
        y = np.arange(len(classes))
        width = 0.8 / len(series)
        smallest = 1.0
        for i, (name, table) in enumerate(series.items()):
            colour = POOL_COLOUR if i == 0 else _colour(name, i - 1)
            offset = (i - (len(series) - 1) / 2) * width
            values = shares(_classes_of(table, column), classes)
            smallest = min(smallest, values[values > 0].min(initial=1.0))
            ax.barh(y + offset, values, height=width, color=colour,
                    label=name.replace("_", "-"))  # fmt: skip
        ax.set_yticks(y, [_class_label(column, c) for c in classes], fontsize=8)
        ax.invert_yaxis()
        _log_percent_axis(ax, smallest)
        ax.set_xlabel("share of patches (%, log scale)")
        ax.set_title(_axis_title(column, pool), fontsize=10)
        ax.grid(axis="x", which="major", color="0.9")
    handles, labels = panels[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=9)
    fig.suptitle(f"{archive}: class shares of the training pool and of each selection",
                 fontsize=11)  # fmt: skip
    _save(fig, out)


def plot_descriptor_summary(archive: str, table: pd.DataFrame, landcover: str | None, out) -> None:
    """Patches per climate class (and per land-cover class, when described)."""
    fig, panels = _class_panels(table, landcover, width=7.0, row=0.3)
    for ax, column in panels:
        counts = _classes_of(table, column).value_counts()
        counts = counts.reindex(sorted(counts.index, key=_class_order))
        ax.barh([_class_label(column, c) for c in counts.index], counts.to_numpy(),
                color=[_class_colour(column, c) for c in counts.index], edgecolor="0.3",
                linewidth=0.5)  # fmt: skip
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=8)
        if counts.max() > 100 * counts.min():
            ax.set_xscale("log")
            ax.set_xlabel("patches (log scale)")
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("patches")
        ax.set_title(_axis_title(column, table), fontsize=10)
    fig.suptitle(f"{archive}: descriptors of {len(table):,} patches", fontsize=11)
    _save(fig, out)
