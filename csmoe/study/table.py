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


def markdown_with_intervals(table: pd.DataFrame) -> str:
    """The table with ``value [low, high]`` cells (and the seed spread)."""
    shown = table[[c for c in table.columns if not c.endswith(("_low", "_high", "_seed_sd"))]]
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
