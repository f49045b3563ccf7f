"""``csmoe geobench``: a frozen encoder on one GEO-Bench task (linear head or light
decoder), as JSON."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from csmoe.commands.common import say, set_threads, since
from csmoe.commands.evaluate import add_run_arguments, run_record
from csmoe.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.geobench.tasks import BAND_MAPPINGS

    parser.add_argument("--encoder", type=Path, required=True, help="RUN/encoder.safetensors")
    parser.add_argument(
        "--root", type=Path, required=True, help="GEO-Bench root (classification_v1.0/ ...)"
    )
    parser.add_argument("--task", required=True, help="e.g. m-eurosat, m-SA-crop-type")
    parser.add_argument(
        "--partition",
        default="default",
        help="partition name: default, 0.01x_train ... 1.00x_train",
    )
    parser.add_argument(
        "--band-mapping",
        choices=BAND_MAPPINGS,
        default="corrected",
        help="m-eurosat / m-brick-kiln channels by what they hold (corrected) "
        "or by their GEO-Bench names",
    )
    parser.add_argument(
        "--segmentation-epochs", type=int, default=50, help="segmentation decoder epochs"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    add_run_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from csmoe.geobench.evaluate import evaluate_task
    from csmoe.geobench.tasks import TASKS

    if args.task not in TASKS:
        raise InputError("--task", f"{args.task!r} is not one of {sorted(TASKS)}")
    set_threads(args.threads)
    start = time.perf_counter()
    metrics = evaluate_task(
        args.encoder,
        args.root,
        args.task,
        args.out,
        partition=args.partition,
        band_mapping=args.band_mapping,
        epochs=args.segmentation_epochs,
        seed=args.seed,
        device=args.device,
        run=run_record(args),
    )
    say(f"{args.task}: {metrics['metric']} {metrics['score']:.4f} in {since(start)}")
