"""Dependencies: ranges in pyproject.toml, exact versions in constraints.txt, and the
conda environments (envs/*.yaml) on the same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PYTHON_PACKAGES = {"python", "pip"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> list[Requirement]:
    """The project's direct dependencies, development tools included."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = [s for group in project["optional-dependencies"].values() for s in group]
    return [Requirement(spec) for spec in project["dependencies"] + extras]


def locked() -> dict[str, str]:
    """constraints.txt as {package: version}."""
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonical(name)] = version
    return pins


def project_pins() -> dict[str, str]:
    """The locked version of each runtime dependency."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = locked()
    return {
        canonical(Requirement(spec).name): pins[canonical(Requirement(spec).name)]
        for spec in project["dependencies"]
    }


def env_pins(path: Path) -> dict[str, str]:
    pins = {}
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(entry, dict):
            for spec in entry["pip"]:
                name, version = spec.split("==")
                pins[canonical(name)] = version
            continue
        name, _, version = entry.partition("=")
        if name not in NOT_PYTHON_PACKAGES:
            pins[canonical(CONDA_TO_PYPI.get(name, name))] = version
    return pins


def test_ranges_in_the_project_file_and_every_dependency_locked_inside_them() -> None:
    pins = locked()
    for requirement in requirements():
        assert requirement.specifier, f"{requirement.name}: give a compatible range"
        assert not any(s.operator == "==" for s in requirement.specifier), requirement
        version = pins.get(canonical(requirement.name))
        assert version is not None, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(version), (requirement, version)


# conda-forge builds lag behind PyPI for these (newest known there); every other pin must
# equal the project file's.
CONDA_FORGE_LAG = {"torch": "2.13.0", "torchvision": "0.28.0"}
# Bioconda packages, and tools that no rule runs: never in a rule environment.
NOT_IN_RULE_ENVS = {"snakemake", "snakemake-executor-plugin-slurm"}
TORCH_MODULES = {"torch", "torchvision", "timm", "safetensors"}


def test_conda_environments_match_the_project_file() -> None:
    pins = project_pins()
    envs = {path.stem: env_pins(path) for path in sorted((REPO / "envs").glob("*.yaml"))}
    assert set(envs) == {"geo", "torch"}
    for name, env in envs.items():
        for package, version in env.items():
            assert package in pins, f"{name}.yaml: {package} is not a project dependency"
            assert version == CONDA_FORGE_LAG.get(package, pins[package]), (name, package)
        assert not NOT_IN_RULE_ENVS & set(env), name
    assert not TORCH_MODULES & set(envs["geo"])  # the geo stages need no PyTorch
    covered = set(envs["geo"]) | set(envs["torch"])
    assert covered == set(pins) - NOT_IN_RULE_ENVS - {"pygments"}


def test_each_rule_uses_the_environment_of_its_imports() -> None:
    """Rules whose command imports torch use envs/torch.yaml, the others envs/geo.yaml."""
    rules = (REPO / "workflow" / "rules").glob("*.smk")
    for rule_file in rules:
        for rule in re.split(r"\n(?=rule )", rule_file.read_text()):
            env = re.search(r'conda:\s*"\.\./\.\./envs/(\w+)\.yaml"', rule)
            if env is None:
                continue
            command = re.search(r"-m csmoe ([\w-]+)|\{params\.launcher\} (\w+)", rule)
            stage = command.group(1) or command.group(2)
            expected = "torch" if stage in TORCH_STAGES else "geo"
            assert env.group(1) == expected, (rule_file.name, stage)


TORCH_STAGES = {
    "shard",
    "pretrain",
    "plot-training",
    "evaluate",
    "study",
    "geobench",
    "geobench-table",
}
