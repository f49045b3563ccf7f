"""``csmoe bench NAME``: one benchmark, printed as one JSON object."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.bench import SIZES

    parser.add_argument("name", choices=tuple(SIZES))
    parser.add_argument(
        "--size", type=int, help="footprints, patches or batch (default: per benchmark)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workdir", type=Path, default=Path("resources/bench"), help="rasters are written here"
    )
    model = parser.add_argument_group("bench model and bench profile")
    model.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    model.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    model.add_argument("--tiny", action="store_true", help="the tiny presets (a quick check)")
    model.add_argument(
        "--task",
        action="append",
        choices=("inference", "layer", "pretraining"),
        help="measure only this task (repeatable; default: all three)",
    )


def run(args: argparse.Namespace) -> None:
    from csmoe.bench import run_benchmark

    model_options = {
        "steps": args.steps,
        "warmup": args.warmup,
        "tiny": args.tiny,
        "tasks": args.task,
    }
    print(
        json.dumps(
            run_benchmark(args.name, args.size, args.workdir, args.seed, model_options), indent=2
        )
    )
