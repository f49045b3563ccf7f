"""Running the workflow as users do: the Snakemake of this environment, the repository's
Snakefile, from any working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def snakemake(
    *args: str,
    cwd: Path = REPO,
    timeout: int = 600,
    snakefile: Path = REPO / "Snakefile",
    path: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`path`: the whole PATH of the run (default: this environment's bin/ first, as an
    activated environment has it)."""
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}" if path is None else path}
    return subprocess.run(
        [str(BIN / "snakemake"), "--snakefile", str(snakefile), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def load_yaml(name: str) -> dict:
    """A config file of the repository."""
    return yaml.safe_load((REPO / "config" / name).read_text())


def reversed_keys(node):
    """`node` with the keys of every mapping in reverse order (lists keep theirs): a config
    as another YAML tool may write it."""
    if isinstance(node, dict):
        return {key: reversed_keys(node[key]) for key in reversed(list(node))}
    if isinstance(node, list):
        return [reversed_keys(item) for item in node]
    return node
