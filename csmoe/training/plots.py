"""Loss curves of a pretraining run, from its ``log.jsonl``."""

from __future__ import annotations

import os
from pathlib import Path

from csmoe.atomic import atomic_path
from csmoe.errors import InputError
from csmoe.training.logbook import read_log

TERM_LABELS = {
    "loss": "total (weighted sum)",
    "s1_s1": "S1 ← S1",
    "s2_s2": "S2 ← S2",
    "s1_from_s2": "S1 ← S2 (cross-sensor)",
    "s2_from_s1": "S2 ← S1 (cross-sensor)",
    "contrastive": "S1–S2 contrastive (NT-Xent)",
}


def _smooth(values: list[float], window: int) -> list[float]:
    """Trailing mean over `window` steps (skipped steps are gaps)."""
    out, recent = [], []
    for value in values:
        if value is None:
            out.append(float("nan"))
            continue
        recent = (recent + [value])[-window:]
        out.append(sum(recent) / len(recent))
    return out


def plot_training(
    log: str | os.PathLike[str], out: str | os.PathLike[str], title: str = ""
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = read_log(Path(log)) if Path(log).is_file() else []
    if not entries:
        raise InputError(log, "no training steps logged")
    steps = [e["step"] for e in entries]
    window = max(1, len(entries) // 25)
    fig, (losses, rate) = plt.subplots(
        2, 1, figsize=(10, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    for key, label in TERM_LABELS.items():
        style = {"color": "black", "linewidth": 2.2} if key == "loss" else {"linewidth": 1.2}
        losses.plot(steps, _smooth([e.get(key) for e in entries], window), label=label, **style)
    losses.set_yscale("log")
    losses.set_ylabel("loss (log scale)")
    note = f"trailing mean over {window} steps" if window > 1 else "per step"
    losses.set_title(
        f"Pretraining loss{': ' + title if title else ''}\n({note}; "
        "reconstruction: MSE of normalised pixels on masked patches)",
        fontsize=10,
    )
    losses.grid(True, which="both", alpha=0.3)
    losses.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    rate.plot(steps, [e["lr"] for e in entries], color="tab:gray")
    rate.set_ylabel("learning rate")
    rate.set_xlabel("optimizer step (one global batch each)")
    rate.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    rate.grid(True, alpha=0.3)
    skipped = [e["step"] for e in entries if e.get("skipped")]
    if skipped:
        losses.plot(skipped, [losses.get_ylim()[0]] * len(skipped), "rx", label="skipped step")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
