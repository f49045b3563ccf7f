"""The study stage: table, comparisons, claims and figures from every evaluation and
pretraining log (nothing is re-run: evaluations keep their per-patch scores)."""

from __future__ import annotations

import os
from pathlib import Path

from csmoe.atomic import atomic_path, write_text
from csmoe.errors import InputError
from csmoe.paths import PRETRAIN_RUN, parse
from csmoe.study import claims as claims_module
from csmoe.study import figures
from csmoe.study.statistics import Bootstrap, load, read_metrics, run_name
from csmoe.study.table import (
    column_key,
    group,
    markdown,
    markdown_with_intervals,
    shown_columns,
    study_table,
    timing_table,
)
from csmoe.training.logbook import read_log


def _log_name(path: Path) -> str:
    """The run of a pretraining log, from where the workflow writes it."""
    found = parse(PRETRAIN_RUN, Path(path).parent)
    if found is None:
        return str(Path(path).parent)
    return "{model} on {archive} / {sampler} seed {seed}".format(**found)


def _csv(table, path: Path) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")


def write_study(metrics: list[Path], logs: list[Path], out: str | os.PathLike[str], *,
                examples: Path, queries: Path, test: Path, seed: int = 0) -> None:  # fmt: skip
    out = Path(out)
    groups = group([load(path) for path in metrics])
    bootstrap = Bootstrap(seed)
    table = study_table(groups, bootstrap)
    _csv(table, out / "table.csv")
    key = column_key(shown_columns(table))
    write_text(out / "table.md", "Each metric: mean over pretraining seeds [95 % bootstrap "
               "interval over test patches or queries] (sd over seeds).\n\n"
               + markdown_with_intervals(table) + "\n" + key)  # fmt: skip
    compared = claims_module.comparisons(groups, bootstrap)
    _csv(compared, out / "comparisons.csv")
    text = claims_module.claims_markdown(claims_module.claims(groups, compared), compared)
    write_text(out / "claims.md", text)
    write_text(out / "claims.html", claims_module.claims_html(text))
    with atomic_path(out / "timing.csv") as tmp:  # measured speed: differs run to run
        timing_table(metrics).to_csv(tmp, index=False, float_format="%.6g")
    figures.plot_quality_vs_cost(table, out / "quality_vs_cost.png")
    figures.plot_comparisons(compared, out / "comparisons.png")
    named_logs = {_log_name(path): path for path in logs}
    figures.plot_losses(named_logs, out / "pretraining_loss.png")
    experts = {run_name(run.metrics): run.metrics["experts"] for runs in groups.values()
               for run in runs if run.metrics.get("experts")}  # fmt: skip
    note = _log_note(named_logs, list(experts))
    figures.plot_expert_shares(experts, out / "expert_shares.png", note)
    evaluated = read_metrics(examples)
    chosen = evaluated["retrieval_examples"].get("s1->s2")
    if not chosen:
        raise InputError(examples, "no S1 -> S2 retrieval examples")
    title = run_name(evaluated).replace(" on ", " pretrained on ")
    figures.plot_retrieval_examples(chosen, queries, test, out / "retrieval_examples.png", title)


def _log_note(logs: dict[str, Path], moe_runs: list[str]) -> str:
    """Soft MoE runs whose pretraining log recorded no expert use (a run shorter than
    pretrain.expert_log_every steps)."""
    silent = [name for name in moe_runs if name in logs
              and not any(entry.get("experts") for entry in read_log(logs[name]))]  # fmt: skip
    if not silent:
        return ""
    return ("\nTheir pretraining logs recorded no expert use (runs shorter than "
            "pretrain.expert_log_every steps): " + "; ".join(silent))  # fmt: skip


__all__ = ["markdown", "write_study"]
