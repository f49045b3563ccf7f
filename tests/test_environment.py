"""envs/*.yaml must pin the same versions as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PYTHON_PACKAGES = {"python", "pip"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {}
    for spec in project["dependencies"]:
        name, version = spec.split("==")
        pins[canonical(name)] = version
    return pins


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


def test_every_dependency_is_pinned_exactly() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = [s for group in project["optional-dependencies"].values() for s in group]
    for spec in project["dependencies"] + extras:
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", spec), spec


def test_conda_environments_match_the_project_file() -> None:
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    pins = project_pins()
    for env in envs:
        assert env_pins(env) == pins, env.name
