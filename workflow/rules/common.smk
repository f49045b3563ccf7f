# Helpers for the rule files (config look-ups only); logic belongs in csmoe/.

import shlex
import sys

# The Snakefile may be parsed by a Snakemake installed without csmoe (e.g. with conda).
sys.path.insert(0, workflow.basedir)

from csmoe.config import validate as validate_config

# The schema validation in the Snakefile checks types; this adds cross-key checks
# (study.archives must name configured archives) with the same message style.
validate_config(config, "config")

# Rules call the package from this checkout, also inside a conda environment.
# (Braces are doubled twice: once for the f-string, once for Snakemake's formatting.)
shell.prefix(
    f"export PYTHONPATH={shlex.quote(workflow.basedir)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
)

EMBEDDED_ROOTS = {
    "examples": {
        "s1_root": "resources/examples/BigEarthNet-S1-v1.0",
        "s2_root": "resources/examples/BigEarthNet-v1.0",
        "folder": "resources/examples",
    },
}


def archive_config(name):
    return config["archives"][name]


def index_input(wildcards):
    """The archive's root folders (or the embedded folder the workflow builds)."""
    archive = archive_config(wildcards.archive)
    if "embedded" in archive:
        return [EMBEDDED_ROOTS[archive["embedded"]]["folder"]]
    return [archive[key] for key in ("s1_root", "s2_root", "root") if key in archive]


def index_arguments(wildcards):
    """Command-line arguments of `python -m csmoe index` for one archive."""
    archive = archive_config(wildcards.archive)
    roots = dict(archive)
    if "embedded" in archive:
        roots.update(EMBEDDED_ROOTS[archive["embedded"]])
    args = [archive["kind"], "--check", config["index"]["check"]]
    for key in ("s1_root", "s2_root", "root"):
        if key in roots and (key != "root" or archive["kind"] != "bigearthnet-v1"):
            args += [f"--{key.replace('_', '-')}", roots[key]]
    if archive["kind"] == "ssl4eo-s12":
        args += ["--s2-product", archive.get("s2_product", "l2a")]
    if config["index"]["skip_bad"]:
        args.append("--skip-bad")
    return shlex.join(args)


def index_outputs():
    outputs = {"index": "results/index/{archive}.parquet"}
    if config["index"]["skip_bad"]:
        outputs["skipped"] = "results/index/{archive}.skipped.tsv"
    return outputs


def study_outputs():
    return expand(
        "results/index/{archive}.parquet", archive=config["study"]["archives"]
    )
