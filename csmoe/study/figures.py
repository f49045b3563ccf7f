"""Figures of the study: quality vs cost, pretraining losses, expert use per sensor, and
retrieval examples (a Sentinel-1 query and its nearest Sentinel-2 patches)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from csmoe.atomic import atomic_path
from csmoe.data.shard_format import ShardFile, read_index
from csmoe.errors import InputError
from csmoe.training.logbook import read_log

SAMPLER_MARKERS = {"thematic_climatic": "o", "random": "s", "full": "^"}
DODGE = {"thematic_climatic": -0.01, "random": 0.01, "full": 0.02}  # share of the GMAC


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out) -> None:
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    _pyplot().close(fig)


def _model_name(rec: dict) -> str:
    return rec["model"].removeprefix("random_init_")


def plot_quality_vs_cost(table: pd.DataFrame, out: str | os.PathLike[str]) -> None:
    """Quality (mean over seeds, 95 % bootstrap interval as error bar) against GMAC."""
    plt = _pyplot()
    panels = (
        ("cls_s2_micro_map", "S2 scene classification\nmicro mAP (linear probe)"),
        ("ret_s1_to_s2_f1@10", "S1 → S2 retrieval\nF1@10 (cosine)"),
    )
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    encoders = table[table["gmac"].notna()].to_dict("records")
    models = sorted({_model_name(rec) for rec in encoders})
    colours = {model: f"C{i}" for i, model in enumerate(models)}
    for ax, (column, label) in zip(axes, panels, strict=True):
        for rec in encoders:
            colour, random_init = colours[_model_name(rec)], rec["features"] == "random_init"
            name = "random weights" if random_init else f"pretrained on {rec['sampler']}"
            error = [[rec[column] - rec[f"{column}_low"]], [rec[f"{column}_high"] - rec[column]]]
            x = rec["gmac"] * (1 + DODGE.get(rec["sampler"], 0.0))  # bars side by side
            ax.errorbar(x, rec[column], yerr=error, fmt="none", ecolor=colour,
                        capsize=3, linewidth=1)  # fmt: skip
            ax.scatter(
                x,
                rec[column],
                s=70,
                marker=SAMPLER_MARKERS.get(rec["sampler"], "D"),
                facecolors="none" if random_init else colour,
                edgecolors=colour,
                label=f"{_model_name(rec)}, {name}",
                zorder=3,
            )
        stats = table[table["features"] == "band_stats"].dropna(subset=[column])
        if len(stats):
            band = stats.iloc[0]
            ax.axhline(band[column], color="grey", linestyle="--", label="band statistics")
            ax.axhspan(band[f"{column}_low"], band[f"{column}_high"], color="grey", alpha=0.12)
        costs = [rec["gmac"] for rec in encoders]
        if costs and max(costs) / min(costs) > 10:  # presets across orders of magnitude
            ax.set_xscale("log")
        ax.margins(x=0.15)
        ax.set_xlabel("encoder cost: GMAC of one S2 pass (batch 1)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    axes[1].legend(
        unique.values(), unique.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0)
    )
    fig.suptitle(
        "Downstream quality against encoder cost (test split; filled: pretrained, hollow: the "
        "same architecture with random weights;\nbars and grey band: 95 % bootstrap intervals "
        "over test patches / queries, means over pretraining seeds; markers of one encoder "
        "shifted sideways by 1 %)",
        fontsize=10,
    )
    _save(fig, out)


METRIC_NAMES = {"cls_s2_micro_map": "S2 micro mAP", "cls_s1_micro_map": "S1 micro mAP",
                "seg_miou": "mIoU", "ret_s1_to_s2_f1@10": "S1 → S2 F1@10"}  # fmt: skip


def plot_comparisons(table: pd.DataFrame, out: str | os.PathLike[str]) -> None:
    """Forest plot: each paired difference with its 95 % bootstrap interval, per metric."""
    plt = _pyplot()
    metrics = [m for m in METRIC_NAMES if m in set(table["metric"])]
    labels = list(dict.fromkeys(table["comparison"]))
    if not metrics:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "No comparison: fewer than two encoders evaluated.", ha="center")
        _save(fig, out)
        return
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics) + 3,
                             0.42 * len(labels) + 1.8), sharey=True, squeeze=False)  # fmt: skip
    y = {label: len(labels) - i for i, label in enumerate(labels)}
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = table[table["metric"] == metric]
        for r in rows.itertuples():
            colour = "tab:green" if r.low > 0 else "tab:red" if r.high < 0 else "tab:grey"
            ax.plot([r.low, r.high], [y[r.comparison]] * 2, color=colour, linewidth=2)
            ax.plot(r.difference, y[r.comparison], "o", color=colour)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(f"difference in {METRIC_NAMES[metric]}", fontsize=9)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0][0].set_yticks(list(y.values()), list(y.keys()), fontsize=8)
    fig.suptitle("Paired comparisons: difference of means with its 95 % bootstrap interval "
                 "(same resampled test patches for both sides;\ngreen: above 0, red: below 0, "
                 "grey: the interval holds 0)", fontsize=9)  # fmt: skip
    _save(fig, out)


def plot_losses(logs: dict[str, Path], out: str | os.PathLike[str]) -> None:
    """Total pretraining loss of every run (trailing mean)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for name, path in logs.items():
        entries = read_log(path)
        window = max(1, len(entries) // 25)
        values = pd.Series([e["loss"] for e in entries], dtype=float)
        ax.plot(
            [e["step"] for e in entries], values.rolling(window, min_periods=1).mean(), label=name
        )
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("total pretraining loss (log scale)")
    ax.set_title("Pretraining loss of every run (trailing mean over a 25th of the run)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, out)


def plot_expert_shares(runs: dict[str, list[dict] | None], out: str | os.PathLike[str],
                       log_note: str = "") -> None:  # fmt: skip
    """Per Soft MoE run and layer: each expert's share of the S1 and S2 test-token outputs,
    with the divergence of the two and its permutation p-value under each panel."""
    plt = _pyplot()
    recorded = {name: layers for name, layers in runs.items() if layers}
    if not recorded:
        fig, ax = plt.subplots(figsize=(7, 2))
        ax.axis("off")
        names = ", ".join(runs) or "none"
        ax.text(0.5, 0.5, f"No Soft MoE encoder recorded expert use (runs: {names}).",
                ha="center", va="center", wrap=True)  # fmt: skip
        _save(fig, out)
        return
    layers = max(len(found) for found in recorded.values())
    fig, axes = plt.subplots(len(recorded), layers, figsize=(3.2 * layers + 1,
                             2.7 * len(recorded)), squeeze=False, sharey=True)  # fmt: skip
    for row, (name, found) in enumerate(recorded.items()):
        for ax, layer in zip(axes[row], found, strict=False):
            s1, s2 = np.array(layer["s1"]), np.array(layer["s2"])
            experts = np.arange(len(s1))
            ax.bar(experts - 0.2, s1, width=0.4, label="S1 (SAR)", color="tab:blue")
            ax.bar(experts + 0.2, s2, width=0.4, label="S2 (optical)", color="tab:green")
            ax.axhline(1 / len(s1), color="grey", linewidth=0.8, linestyle=":")
            ax.set_xticks(experts, [f"E{e + 1}" for e in experts])
            ax.set_title(f"{name}\nMoE layer {layer['layer'] + 1}", fontsize=8)
            ax.set_xlabel(f"divergence {layer['divergence_bits']:.2g} bits, "
                          f"p = {layer['p_value']:.3g}", fontsize=8)  # fmt: skip
        axes[row][0].set_ylabel("share of token outputs")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.suptitle("Expert use per sensor on test tokens (dotted: uniform use)\ndivergence: "
                 "Jensen-Shannon of the S1 and S2 shares; p: permutation test of the "
                 f"tokens' sensor labels{log_note}", fontsize=9)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.8 / fig.get_figheight()))  # room for the title
    fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=2)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


class ShardLookup:
    """Samples of a shard folder by patch id."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.index = read_index(self.folder)
        self.where: dict[str, tuple[ShardFile, int]] = {}
        for shard in self.index["shards"]:
            handle = ShardFile(self.folder / shard["file"])
            for row, patch_id in enumerate(handle.patch_ids()):
                self.where[patch_id] = (handle, row)

    def read(self, patch_id: str, name: str) -> np.ndarray:
        if patch_id not in self.where:
            raise InputError(self.folder, f"patch {patch_id} is not in these shards")
        handle, row = self.where[patch_id]
        return handle.read_rows(name, np.array([row]))[0]

    def rgb(self, patch_id: str) -> np.ndarray:
        bands = self.index["s2_bands"]
        s2 = self.read(patch_id, "s2").astype(np.float32)
        rgb = np.stack([s2[bands.index(b)] for b in ("B04", "B03", "B02")], axis=-1)
        low, high = np.percentile(rgb, (2, 98))
        return np.clip((rgb - low) / max(high - low, 1e-6), 0, 1)

    def vv(self, patch_id: str) -> np.ndarray:
        s1 = self.read(patch_id, "s1").astype(np.float32)
        return np.clip((s1[self.index["s1_bands"].index("VV")] + 25) / 25, 0, 1)  # -25..0 dB


def plot_retrieval_examples(
    examples: list[dict],
    queries: str | os.PathLike[str],
    archive: str | os.PathLike[str],
    out,
    title: str,
) -> None:
    """Rows: a Sentinel-1 query (VV, and its own S2 for reference) and its top 5 S2."""
    plt = _pyplot()
    query_data, archive_data = ShardLookup(queries), ShardLookup(archive)
    columns = 2 + max(len(e["retrieved"]) for e in examples)
    fig, axes = plt.subplots(
        len(examples), columns, figsize=(1.9 * columns, 2.2 * len(examples)), squeeze=False
    )
    for row, example in enumerate(examples):
        query = example["query"]
        wanted = query_data.read(query, "labels").astype(bool)
        panels = [
            (query_data.vv(query), "query: S1 VV", "gray"),
            (query_data.rgb(query), "its own S2 (not used)", None),
        ]
        for rank, found in enumerate(example["retrieved"], start=1):
            shared = int((archive_data.read(found, "labels").astype(bool) & wanted).sum())
            panels.append(
                (archive_data.rgb(found), f"#{rank}: {shared}/{wanted.sum()} labels", None)
            )
        for ax, (image, caption, cmap) in zip(axes[row], panels, strict=False):
            ax.imshow(image, cmap=cmap, vmin=0, vmax=1)
            ax.set_title(caption, fontsize=7)
            ax.axis("off")
    fig.suptitle(
        f"{title}: Sentinel-1 queries (validation split) and their five nearest "
        "Sentinel-2 patches (test split), 1.2 km each, true colour",
        fontsize=9,
    )
    _save(fig, out)
