"""``csmoe pretrain``: pretrain a CSMoE / CSMAE model on shards (resumable; torchrun for
several GPUs)."""

from __future__ import annotations

import argparse
import os
import time

from csmoe.commands.common import say, since


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.models.presets import PRESETS, VARIANTS
    from csmoe.training.options import add_arguments as add_training_arguments

    add_training_arguments(parser, sorted(PRESETS), VARIANTS)


def run(args: argparse.Namespace) -> None:
    from csmoe.training.loop import pretrain
    from csmoe.training.options import from_args

    start = time.perf_counter()
    summary = pretrain(from_args(args))
    if summary["processes"] == 1 or int(os.environ.get("RANK", "0")) == 0:
        say(
            f"run {summary['run_id']}: {summary['steps']} steps on {summary['device']} "
            f"({summary['processes']} process(es)) into {args.out} in {since(start)}"
        )
