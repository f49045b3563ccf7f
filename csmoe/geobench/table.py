"""The study's GEO-Bench table: our encoders beside the published CSMoE Table IV.

Rows: each evaluated encoder, named ``<archive>/<sampler>/<model>/seed<N>`` from the run
its result records (``run``; a result evaluated without one is named by its encoder file),
then the published CSMoE variants; columns: ``source``, ``band_mapping`` (how
m-eurosat's and m-brick-kiln's channels were fed to our encoders: ``corrected`` or
``as-named``; unknown for the published rows), then the tasks, scores in % (micro mAP,
average accuracy or mIoU, as each task's metric). A task not evaluated is empty.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from csmoe.atomic import atomic_path, write_text
from csmoe.errors import InputError
from csmoe.geobench.tasks import PUBLISHED, TASKS
from csmoe.study.table import markdown


def result_row(path: Path) -> tuple[str, str, float, str]:
    """(encoder, task, score in %, band mapping) of one result file."""
    try:
        result = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(path, f"unreadable GEO-Bench result ({error})") from None
    if not isinstance(result, dict) or result.get("task") not in TASKS:
        raise InputError(path, "not the result of a GEO-Bench task (no known 'task')")
    mapping = str(result.get("band_mapping", "corrected"))
    return encoder_name(result), result["task"], 100 * float(result["score"]), mapping


def encoder_name(result: dict) -> str:
    """``archive/sampler/model/seed<N>`` of the recorded run, else the encoder file."""
    run = result.get("run") or {}
    keys = ("archive", "sampler", "model")
    if not all(run.get(k) for k in keys):
        return str(result.get("encoder"))
    seed = [] if run.get("seed") is None else [f"seed{run['seed']}"]
    return "/".join([str(run[k]) for k in keys] + seed)


def geobench_table(paths: list[str | os.PathLike[str]]) -> pd.DataFrame:
    rows = [result_row(Path(p)) for p in paths]
    ours = pd.DataFrame(rows, columns=["encoder", "task", "score", "band_mapping"])
    tasks = [t for t in TASKS if t in set(ours["task"])]
    table = ours.pivot(index="encoder", columns="task", values="score").reindex(columns=tasks)
    mappings = ours.groupby("encoder")["band_mapping"].agg(lambda m: "+".join(sorted(set(m))))
    table.insert(0, "band_mapping", mappings)
    table.insert(0, "source", "ours")
    published = pd.DataFrame.from_dict(PUBLISHED, orient="index").reindex(columns=tasks)
    published.insert(0, "band_mapping", "unknown")
    published.insert(0, "source", "published (CSMoE Table IV)")
    both = pd.concat([table, published]).rename_axis("encoder").reset_index()
    return both


def write_geobench_table(paths: list[str | os.PathLike[str]], out: str | os.PathLike[str]) -> None:
    """``geobench.csv`` and ``geobench.md`` in the folder `out`."""
    table = geobench_table(paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "geobench.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.2f")
    metrics = ", ".join(f"{t}: {TASKS[t].metric}" for t in table.columns[3:])
    note = (
        "band_mapping: corrected = m-eurosat's and m-brick-kiln's channels fed to the "
        "bands they hold (GEO-Bench issues #28, #29); as-named = by their GEO-Bench names"
    )
    write_text(out / "geobench.md", f"Scores in % ({metrics}).\n\n{note}.\n\n" + markdown(table))
