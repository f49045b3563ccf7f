"""Sampling report: a metrics table and figures comparing manifests with their pool."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from csmoe.atomic import atomic_path  # noqa: E402
from csmoe.sampling.metrics import landcover_column, selected_rows, shares  # noqa: E402
from csmoe.sampling.samplers import lonlat  # noqa: E402

DPI = 110


def metrics_table(metrics: dict[str, str | os.PathLike[str]]) -> pd.DataFrame:
    """One row per sampler from the ``<sampler>.metrics.json`` files."""
    rows = {name: json.loads(Path(path).read_text()) for name, path in metrics.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("sampler")


def _save(fig: plt.Figure, out: str | os.PathLike[str]) -> None:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)


def plot_map(pool: pd.DataFrame, manifests: dict[str, pd.DataFrame], out) -> None:
    """Pool locations (grey) and each manifest's selected locations, one panel each."""
    fig, axes = plt.subplots(
        1, len(manifests), figsize=(4.2 * len(manifests), 4.6), squeeze=False, sharey=True
    )
    pool_xy = lonlat(pool)
    for ax, (name, manifest) in zip(axes[0], manifests.items(), strict=True):
        xy = lonlat(manifest)
        ax.scatter(pool_xy[:, 0], pool_xy[:, 1], s=0.3, c="0.8", linewidths=0, rasterized=True)
        ax.scatter(xy[:, 0], xy[:, 1], s=0.8, c="tab:red", linewidths=0, rasterized=True)
        ax.set_title(f"{name} ({len(manifest):,} of {len(pool):,})", fontsize=9)
        ax.set_xlabel("longitude")
        ax.set_aspect(1.5)
    axes[0, 0].set_ylabel("latitude")
    fig.tight_layout()
    _save(fig, out)


def plot_distributions(pool: pd.DataFrame, manifests: dict[str, pd.DataFrame], out) -> None:
    """Climate and land-cover class shares: pool vs each manifest."""
    columns = ["climate"] + ([landcover_column(pool)] if landcover_column(pool) else [])
    fig, axes = plt.subplots(len(columns), 1, figsize=(10, 3.2 * len(columns)), squeeze=False)
    selected = {name: selected_rows(pool, m) for name, m in manifests.items()}
    for ax, column in zip(axes[:, 0], columns, strict=True):
        classes = pd.Index(sorted(pool[column].dropna().astype(str).unique()))
        series = {"pool": pool} | selected
        width = 0.8 / len(series)
        for i, (name, table) in enumerate(series.items()):
            x = np.arange(len(classes)) + (i - (len(series) - 1) / 2) * width
            ax.bar(x, shares(table[column], classes), width=width, label=name)
        ax.set_xticks(np.arange(len(classes)), classes, rotation=90, fontsize=7)
        ax.set_ylabel(f"share ({column})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out)


def plot_descriptor_summary(table: pd.DataFrame, out) -> None:
    """Climate classes (and dominant land cover, when described) of every patch."""
    columns = ["climate"] + ([landcover_column(table)] if landcover_column(table) else [])
    fig, axes = plt.subplots(1, len(columns), figsize=(6 * len(columns), 3.8), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        counts = table[column].astype("string").value_counts().sort_index()
        ax.bar(counts.index.astype(str), counts.to_numpy(), color="tab:blue")
        ax.set_title(f"{column} of {len(table):,} patches", fontsize=9)
        ax.tick_params(axis="x", rotation=90, labelsize=7)
        ax.set_ylabel("patches")
    fig.tight_layout()
    _save(fig, out)
