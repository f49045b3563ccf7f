"""The index rule: archive roots in, `python -m csmoe index` arguments out."""

from __future__ import annotations

import shlex

from csmoe.index.kinds import KINDS
from csmoe.paths import INDEX, SKIPPED

# Archives that the workflow builds itself (config `embedded:`): their roots, and the
# folder the building rule writes.
EMBEDDED_ROOTS = {
    "examples": {
        "s1_root": "resources/examples/BigEarthNet-S1-v1.0",
        "s2_root": "resources/examples/BigEarthNet-v1.0",
    },
    "synthetic": {
        "s1_root": "resources/synthetic/archive/BigEarthNet-S1-v1.0",
        "s2_root": "resources/synthetic/archive/BigEarthNet-v1.0",
        "reference_root": "resources/synthetic/archive/Reference_Maps",
    },
}
EMBEDDED_FOLDERS = {"examples": "resources/examples", "synthetic": "resources/synthetic/archive"}


def archive(config: dict, name: str) -> dict:
    return config["archives"][name]


def roots(settings: dict) -> dict[str, str]:
    """The archive's root folders by option name (kind registry: `csmoe.index.kinds`)."""
    if "embedded" in settings:
        return EMBEDDED_ROOTS[settings["embedded"]]
    kind = KINDS[settings["kind"]]
    return {key: settings[key] for key in kind.roots + kind.optional_roots if key in settings}


def inputs(config: dict, wildcards) -> list[str]:
    """The archive's root folders (or the embedded folder the workflow builds)."""
    settings = archive(config, wildcards.archive)
    if "embedded" in settings:
        return [EMBEDDED_FOLDERS[settings["embedded"]]]
    return list(roots(settings).values())


def kind_options(config: dict, settings: dict) -> dict[str, str]:
    """The kind's own options: from the archive entry, or the index section."""
    values = {"s2_product": settings.get("s2_product", "l2a"),
              "cloud_threshold": config["index"].get("cloud_threshold", 0.05)}  # fmt: skip
    return {name: str(values[name]) for name in KINDS[settings["kind"]].options}


def arguments(config: dict, wildcards) -> str:
    """Options of `python -m csmoe index` for one archive, shell-quoted."""
    settings = archive(config, wildcards.archive)
    args = [settings["kind"]]
    named = roots(settings) | kind_options(config, settings)
    for key, value in named.items():
        args += [f"--{key.replace('_', '-')}", value]
    args += ["--check", config["index"]["check"], "--non-finite", config["index"]["non_finite"]]
    if config["index"]["skip_bad"]:
        args.append("--skip-bad")
    return shlex.join(args)


def outputs(config: dict) -> dict[str, str]:
    files = {"index": INDEX}
    if config["index"]["skip_bad"]:
        files["skipped"] = SKIPPED
    return files
