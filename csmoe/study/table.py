"""One row per evaluated encoder (model x sampler, and the baselines), one column per metric.

Evaluation files follow the workflow's path convention,
``results/evaluate/<archive>/<sampler>/<model>/metrics.json`` with ``baseline`` as the
sampler of the baselines, which names each row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from csmoe.errors import InputError

DIRECTIONS = ("s1->s1", "s2->s2", "s1->s2", "s2->s1")
K = "10"


def run_name(path: Path) -> tuple[str, str, str]:
    """(archive, sampler, model) from .../<archive>/<sampler>/<model>/metrics.json."""
    parts = Path(path).parts
    if len(parts) < 4:
        raise InputError(path, "expected <archive>/<sampler>/<model>/metrics.json")
    return parts[-4], parts[-3], parts[-2]


def row(path: Path) -> dict:
    try:
        metrics = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(path, f"unreadable metrics ({error})") from None
    archive, sampler, model = run_name(path)
    out = {
        "archive": archive,
        "model": model,
        "sampler": sampler,
        "features": metrics["features"]["kind"],
    }
    cost = metrics.get("efficiency") or {}
    out |= {"params_m": cost.get("params_m"), "gmac": cost.get("gmac")}
    for sensor in ("s2", "s1"):
        scores = metrics["classification"][sensor]
        for key in ("micro_map", "macro_map", "micro_f1", "macro_f1"):
            out[f"cls_{sensor}_{key}"] = scores[key]
    segmentation = metrics.get("segmentation") or {}
    out["seg_miou"] = segmentation.get("miou")
    for direction in DIRECTIONS:
        scores = metrics["retrieval"].get(direction, {}).get(K)
        name = direction.replace("->", "_to_")
        out[f"ret_{name}_map@{K}"] = scores["map"] if scores else None
        out[f"ret_{name}_f1@{K}"] = scores["f1"] if scores else None
    return out


def study_table(paths: list[str | os.PathLike[str]]) -> pd.DataFrame:
    table = pd.DataFrame([row(Path(p)) for p in paths])
    baseline = table["sampler"].eq("baseline")
    return pd.concat([table[~baseline], table[baseline]]).reset_index(drop=True)


def timing_table(paths: list[str | os.PathLike[str]]) -> pd.DataFrame:
    """Measured encoder throughput, from the ``timing.json`` beside each metrics.json
    (not deterministic: kept out of the study table)."""
    rows = []
    for path in map(Path, paths):
        archive, sampler, model = run_name(path)
        timing_path = path.with_name("timing.json")
        try:
            timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
        except json.JSONDecodeError as error:
            raise InputError(timing_path, f"unreadable timing ({error})") from None
        rows.append({"archive": archive, "model": model, "sampler": sampler,
                     "device": timing.get("device"),
                     "images_per_s": timing.get("images_per_s")})  # fmt: skip
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (3 decimals; '—' where a metric does not apply)."""
    header = "| " + " | ".join(table.columns) + " |"
    lines = [header, "|" + "---|" * len(table.columns)]
    for record in table.itertuples(index=False):
        cells = [
            "—" if pd.isna(v) else f"{v:.3f}" if isinstance(v, float) else str(v) for v in record
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
