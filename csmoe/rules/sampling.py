"""The sampling and sampling-report rules."""

from __future__ import annotations

import shlex

from csmoe.commands.common import EXCLUSIONS
from csmoe.paths import MANIFEST, SAMPLE_METRICS
from csmoe.rules import index

TEMPLATES = {"manifest": MANIFEST, "metrics": SAMPLE_METRICS}


def exclusion_arguments(config: dict) -> str:
    """``--exclude-<name>`` / ``--no-exclude-<name>`` for each pool exclusion of the config,
    in the registry's order (not the YAML's: a reordered config must not rerun the jobs)."""
    exclude = config["sampling"]["exclude"]
    flags = [f"--{'' if exclude[name] else 'no-'}exclude-{name.replace('_', '-')}"
             for name in EXCLUSIONS if name in exclude]  # fmt: skip
    return shlex.join(flags)


def arguments(config: dict, wildcards) -> str:
    """Options of `python -m csmoe sample` for one archive and sampler."""
    sampling = config["sampling"]
    args = ["--sampler", wildcards.sampler, "--seed", str(config["seed"])]
    if wildcards.sampler != "full":
        size = index.archive(config, wildcards.archive).get("sample_size", sampling["size"])
        args += ["--size", str(size)]
    args += ["--climate-level", sampling["climate_level"]]
    args += ["--landcover-level", sampling["landcover_level"]]
    args += ["--no-landcover", sampling["no_landcover"]]
    # alpha changes no other sampler's output: passing it would rerun them for nothing
    if wildcards.sampler == "thematic_climatic":
        args += ["--alpha", str(sampling["alpha"])]
    return " ".join([shlex.join(args), exclusion_arguments(config)]).strip()


def sampled(config: dict, archive: str, kind: str) -> list[str]:
    """The per-sampler files of one archive: `kind` is 'manifest' or 'metrics'."""
    template = TEMPLATES[kind]
    return [template.format(archive=archive, sampler=s) for s in config["study"]["samplers"]]


def named_arguments(config: dict, files: list[str]) -> str:
    """SAMPLER=PATH arguments, in the order of study.samplers."""
    pairs = zip(config["study"]["samplers"], files, strict=True)
    return shlex.join(f"{name}={path}" for name, path in pairs)
