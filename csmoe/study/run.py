"""The study stage: table and figures from every evaluation and pretraining log."""

from __future__ import annotations

import json
import os
from pathlib import Path

from csmoe.atomic import atomic_path, write_text
from csmoe.errors import InputError
from csmoe.study import figures
from csmoe.study.table import markdown, run_name, study_table, timing_table

OUTPUTS = ("table.csv", "table.md", "quality_vs_cost.png", "pretraining_loss.png",
           "expert_shares.png", "retrieval_examples.png", "timing.csv")  # fmt: skip


def write_study(metrics: list[Path], logs: list[Path], out: str | os.PathLike[str], *,
                examples: Path, queries: Path, archive: Path) -> None:  # fmt: skip
    out = Path(out)
    table = study_table(metrics)
    with atomic_path(out / "table.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    write_text(out / "table.md", markdown(table))
    with atomic_path(out / "timing.csv") as tmp:  # measured speed: differs run to run
        timing_table(metrics).to_csv(tmp, index=False, float_format="%.6g")
    figures.plot_quality_vs_cost(table, out / "quality_vs_cost.png")
    named = {"{2} on {0} / {1}".format(*run_name(path)): path for path in logs}
    figures.plot_losses(named, out / "pretraining_loss.png")
    figures.plot_expert_shares(named, out / "expert_shares.png")
    evaluated = json.loads(Path(examples).read_text())
    chosen = evaluated["retrieval_examples"].get("s1->s2")
    if not chosen:
        raise InputError(examples, "no S1 -> S2 retrieval examples")
    title = "{2} pretrained on {0} / {1}".format(*run_name(examples))
    figures.plot_retrieval_examples(chosen, queries, archive, out / "retrieval_examples.png", title)
