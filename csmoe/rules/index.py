"""The index rule: archive roots in, `python -m csmoe index` arguments out."""

from __future__ import annotations

import shlex

# Archives that the workflow builds itself (config `embedded:`), and where their roots lie.
EMBEDDED_ROOTS = {
    "examples": {
        "s1_root": "resources/examples/BigEarthNet-S1-v1.0",
        "s2_root": "resources/examples/BigEarthNet-v1.0",
        "folder": "resources/examples",
    },
    "synthetic": {
        "s1_root": "resources/synthetic/archive/BigEarthNet-S1-v1.0",
        "s2_root": "resources/synthetic/archive/BigEarthNet-v1.0",
        "reference_root": "resources/synthetic/archive/Reference_Maps",
        "folder": "resources/synthetic/archive",
    },
}
ROOT_KEYS = ("s1_root", "s2_root", "reference_root", "reference_metadata", "root")


def archive(config: dict, name: str) -> dict:
    return config["archives"][name]


def inputs(config: dict, wildcards) -> list[str]:
    """The archive's root folders (or the embedded folder the workflow builds)."""
    settings = archive(config, wildcards.archive)
    if "embedded" in settings:
        return [EMBEDDED_ROOTS[settings["embedded"]]["folder"]]
    return [settings[key] for key in ROOT_KEYS if key in settings]


def arguments(config: dict, wildcards) -> str:
    """Options of `python -m csmoe index` for one archive, shell-quoted."""
    settings = archive(config, wildcards.archive)
    roots = dict(settings)
    if "embedded" in settings:
        roots.update(EMBEDDED_ROOTS[settings["embedded"]])
    args = [settings["kind"], "--check", config["index"]["check"]]
    args += ["--non-finite", config["index"]["non_finite"]]
    for key in ROOT_KEYS:
        if key in roots and (key != "root" or settings["kind"] != "bigearthnet-v1"):
            args += [f"--{key.replace('_', '-')}", roots[key]]
    if settings["kind"].startswith("ssl4eo-s12"):
        args += ["--s2-product", settings.get("s2_product", "l2a")]
    if settings["kind"] == "ssl4eo-s12-v1.1":
        args += ["--cloud-threshold", str(config["index"].get("cloud_threshold", 0.05))]
    if config["index"]["skip_bad"]:
        args.append("--skip-bad")
    return shlex.join(args)


def outputs(config: dict) -> dict[str, str]:
    files = {"index": "results/index/{archive}.parquet"}
    if config["index"]["skip_bad"]:
        files["skipped"] = "results/index/{archive}.skipped.tsv"
    return files
