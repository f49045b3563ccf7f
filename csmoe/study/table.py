"""One row per evaluated encoder (model x sampler, and the baselines), one column per
metric, each metric with its interval.

Rows group the runs of one archive, sampler and model (its pretraining seeds): a metric
is their mean, with the 95 % bootstrap interval of that mean (`statistics.Bootstrap`)
and, with several seeds, the standard deviation of the runs. The CSV holds ``<metric>``,
``<metric>_low``, ``<metric>_high`` and ``<metric>_seed_sd``; the Markdown table shows
``value [low, high]`` (and ``sd`` of the seeds). Expert specialisation of Soft MoE
encoders: the largest divergence of a layer (bits) and the smallest p-value
(`csmoe.evaluation.experts`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from csmoe.errors import InputError
from csmoe.study.statistics import BASELINE, METRICS, Bootstrap, Evaluation, read_metrics

Groups = dict[tuple[str, str, str], list[Evaluation]]


def group(evaluations: list[Evaluation]) -> Groups:
    """Runs by (archive, sampler, model), pretrained encoders before the baselines."""
    groups: Groups = {}
    for evaluation in sorted(evaluations, key=lambda e: (e.sampler == BASELINE,)):
        groups.setdefault(evaluation.key, []).append(evaluation)
    return groups


def _experts(runs: list[Evaluation]) -> dict:
    layers = [layer for run in runs for layer in run.metrics.get("experts") or []]
    if not layers:
        return {"expert_jsd_max": None, "expert_p_min": None}
    by_run = [max(layer["divergence_bits"] for layer in run.metrics["experts"]) for run in runs]
    return {"expert_jsd_max": float(np.mean(by_run)),
            "expert_p_min": min(layer["p_value"] for layer in layers)}  # fmt: skip


def row(runs: list[Evaluation], bootstrap: Bootstrap) -> dict:
    first = runs[0]
    cost = first.metrics.get("efficiency") or {}
    out = {"archive": first.archive, "model": first.model, "sampler": first.sampler,
           "features": first.metrics["features"]["kind"], "runs": len(runs),
           "params_m": cost.get("params_m"), "gmac": cost.get("gmac")} | _experts(runs)  # fmt: skip
    summary = bootstrap.summarise(runs)
    for metric in METRICS:
        found = summary.get(metric, {})
        out[metric] = found.get("value")
        for part in ("low", "high", "seed_sd"):
            out[f"{metric}_{part}"] = found.get(part)
    return out


def study_table(groups: Groups, bootstrap: Bootstrap) -> pd.DataFrame:
    return pd.DataFrame([row(runs, bootstrap) for runs in groups.values()])


def shown_columns(table: pd.DataFrame) -> list[str]:
    """The columns of the Markdown table (intervals and spreads are inside its cells)."""
    return [c for c in table.columns if not c.endswith(("_low", "_high", "_seed_sd"))]


def markdown_with_intervals(table: pd.DataFrame) -> str:
    """The table with ``value [low, high]`` cells (and the seed spread)."""
    shown = table[shown_columns(table)]
    cells = shown.astype(object).copy()
    for metric in METRICS:
        if metric not in cells:
            continue
        for i in range(len(table)):
            value = table.at[i, metric]
            if pd.isna(value):
                continue
            text = f"{value:.3f} [{table.at[i, metric + '_low']:.3f}, " \
                   f"{table.at[i, metric + '_high']:.3f}]"  # fmt: skip
            spread = table.at[i, metric + "_seed_sd"]
            cells.at[i, metric] = text + (f" sd {spread:.3f}" if pd.notna(spread) else "")
    return markdown(cells)


FIXED_COLUMNS = {
    "archive": "the archive the encoder was pretrained and evaluated on",
    "model": "the model name of the config (`pretrain.models`); baselines: "
             "`random_init_<model>` (that architecture with random weights), `band_stats` "
             "(per-band mean and standard deviation of the pixels, no encoder)",
    "sampler": "the training manifest it was pretrained on (`baseline` for the baselines)",
    "features": "`pretrained`, `random_init` or `band_stats`",
    "runs": "pretraining seeds averaged in this row",
    "params_m": "encoder parameters, millions",
    "gmac": "giga multiply-accumulates of one S2 encoder pass at the preset's input side",
    "expert_jsd_max": "Soft MoE only: the largest Jensen-Shannon divergence (bits) between "
                      "the S1 and S2 expert use of a layer, mean over seeds",
    "expert_p_min": "Soft MoE only: the smallest permutation p-value of those layers",
}  # fmt: skip
CLASSIFICATION = {
    "micro_map": "micro mAP (average precision over all patch-class pairs)",
    "macro_map": "macro mAP (average precision per class, then the mean)",
    "micro_f1": "micro F1 at probability 0.5",
    "macro_f1": "macro F1 at probability 0.5",
}
SENSORS = {"s1": "Sentinel-1", "s2": "Sentinel-2"}


def column_meaning(column: str) -> str:
    """What one column of the study table holds."""
    if column in FIXED_COLUMNS:
        return FIXED_COLUMNS[column]
    for suffix, words in (("_low", "lower end of the 95 % bootstrap interval of "),
                          ("_high", "upper end of the 95 % bootstrap interval of "),
                          ("_seed_sd", "standard deviation over seeds of ")):  # fmt: skip
        if column.endswith(suffix):
            return words + f"`{column.removesuffix(suffix)}`"
    if column == "seg_miou":
        return ("semantic segmentation of the 10 m reference maps: mIoU of a linear decoder "
                "on the frozen last-block tokens (mean over probe seeds)")  # fmt: skip
    if column.startswith("cls_"):
        sensor, metric = column[4:6], column[7:]
        return (f"BigEarthNet-19 scene classification, linear probe on frozen "
                f"{SENSORS[sensor]} embeddings: {CLASSIFICATION[metric]}")  # fmt: skip
    if column.startswith("ret_"):
        pair, _, kind = column[4:].rpartition("_")
        query, target = pair.split("_to_")
        what = "mAP" if kind.startswith("map") else "F1"
        k = kind.partition("@")[2]
        return (f"retrieval, {SENSORS[query]} queries against the {SENSORS[target]} test "
                f"archive: {what} of the top {k} by cosine similarity (relevance: shared "
                f"labels)")  # fmt: skip
    raise KeyError(column)


def column_key(columns) -> str:
    """A Markdown list: every column of `columns` with its meaning."""
    lines = ["Key to the columns (a metric cell: value over the test split [95 % interval] "
             "and sd over seeds; higher is better for every quality metric):", ""]  # fmt: skip
    lines += [f"- `{column}`: {column_meaning(column)}" for column in columns]
    return "\n".join(lines) + "\n"


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (3 decimals; '—' where a metric does not apply)."""
    header = "| " + " | ".join(table.columns) + " |"
    lines = [header, "|" + "---|" * len(table.columns)]
    for record in table.itertuples(index=False):
        cells = [
            "—" if (not isinstance(v, str) and pd.isna(v)) else f"{v:.3f}"
            if isinstance(v, float) else str(v)
            for v in record
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def timing_table(paths: list[str | os.PathLike[str]]) -> pd.DataFrame:
    """Measured encoder throughput, from the ``timing.json`` beside each metrics.json
    (not deterministic: kept out of the study table)."""
    rows = []
    for path in map(Path, paths):
        run = read_metrics(path)["run"]
        timing_path = path.with_name("timing.json")
        try:
            timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
        except json.JSONDecodeError as error:
            raise InputError(timing_path, f"unreadable timing ({error})") from None
        rows.append({"archive": run["archive"], "model": run["model"], "sampler": run["sampler"],
                     "seed": run.get("seed"),
                     "device": timing.get("device"),
                     "images_per_s": timing.get("images_per_s")})  # fmt: skip
    return pd.DataFrame(rows)
