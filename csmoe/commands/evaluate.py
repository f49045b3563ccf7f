"""``csmoe evaluate``: frozen-encoder classification, segmentation, retrieval and cost."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from csmoe.commands.common import say, set_threads, since
from csmoe.errors import InputError


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """What the result belongs to, recorded in its JSON (the study tables read it)."""
    run = parser.add_argument_group("the run evaluated (recorded in the result)")
    run.add_argument("--archive", help="archive the encoder was pretrained on")
    run.add_argument("--sampler", help="sampler of its training manifest (or 'baseline')")
    run.add_argument("--model", help="model name of the config")
    run.add_argument("--run-seed", type=int, help="pretraining seed of the run")


def run_record(args: argparse.Namespace) -> dict:
    return {
        "archive": args.archive,
        "sampler": args.sampler,
        "model": args.model,
        "seed": args.run_seed,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", type=Path, help="RUN_DIR/encoder.safetensors")
    parser.add_argument(
        "--features",
        choices=("pretrained", "random_init", "band_stats"),
        default="pretrained",
        help="pretrained encoder, its architecture with "
        "random weights, or per-band statistics (no --encoder)",
    )
    parser.add_argument(
        "--train", type=Path, required=True, help="shards of the probe-training split"
    )
    parser.add_argument(
        "--queries",
        type=Path,
        required=True,
        help="shards of the validation split (retrieval queries)",
    )
    parser.add_argument(
        "--test",
        type=Path,
        required=True,
        help="shards of the test split (scores; retrieval archive)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for metrics.json")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seed", type=int, default=0, help="random weights, fine-tuning")
    parser.add_argument(
        "--probe-seeds",
        type=int,
        nargs="+",
        default=[0],
        help="seeds of the segmentation decoder, fitted once per seed",
    )
    parser.add_argument("--segmentation-epochs", type=int, default=100)
    parser.add_argument(
        "--finetune-epochs",
        type=int,
        default=0,
        help="also fine-tune encoder and head for S2 classes",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="feature extraction")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    add_run_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from csmoe.evaluation.run import evaluate

    if args.features != "band_stats" and args.encoder is None:
        raise InputError("--encoder", f"required for --features {args.features}")
    set_threads(args.threads)
    start = time.perf_counter()
    evaluate(
        args.features,
        args.encoder,
        train=args.train,
        queries=args.queries,
        test=args.test,
        out=args.out,
        device=args.device,
        seed=args.seed,
        probe_seeds=tuple(args.probe_seeds),
        segmentation_epochs=args.segmentation_epochs,
        finetune_epochs=args.finetune_epochs,
        batch_size=args.batch_size,
        run=run_record(args),
    )
    say(f"{args.features} features evaluated into {args.out} in {since(start)}")
