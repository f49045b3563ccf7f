"""Index of a BigEarthNet v1.0 archive in its original layout.

Layout (two roots, one folder per patch, named like the patch)::

    BigEarthNet-S1-v1.0/<S1 name>/<S1 name>_VV.tif, _VH.tif, _labels_metadata.json
    BigEarthNet-v1.0/<S2 name>/<S2 name>_B01.tif ... _B12.tif, _B8A.tif,
                               <S2 name>_labels_metadata.json

Pairs are matched through ``corresponding_s2_patch`` in the S1 JSON. An optional third
root holds the 10 m reference maps, which exist in the BigEarthNet v2 layout only
(``Reference_Maps/<tile>/<v2 id>/<v2 id>_reference_map.tif``, CLC codes); the v2
``metadata.parquet`` maps v1 S2 names to v2 ids (see
`csmoe.bigearthnet.reference_maps`). Patches that BigEarthNet v2 left out have no map,
and their count is reported. Each patch's
footprint comes from the JSON corner coordinates and is checked against the rasters'
georeferencing. Country, season, split and snow/cloud flags come from the metadata
packaged in `bigearthnet-common`.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from csmoe.bigearthnet import nomenclature, packaged, reference_maps
from csmoe.errors import InputError
from csmoe.index.patches import PatchProblem, Skipped, collect
from csmoe.index.rasters import check_band, check_bounds, check_same_grid

# Band -> pixels per side of a 1200 m patch (10, 20, 60 m); BigEarthNet v1 has no B10.
S2_BANDS = {
    "B01": 20, "B02": 120, "B03": 120, "B04": 120, "B05": 60, "B06": 60, "B07": 60,
    "B08": 120, "B8A": 60, "B09": 20, "B11": 60, "B12": 60,
}  # fmt: skip
S1_BANDS = ("VV", "VH")
S1_NAME = re.compile(r"^S1[AB]_IW_GRDH_1SDV_\d{8}T\d{6}_\d{2}[A-Z]{3}_\d+_\d+$")
S2_NAME = re.compile(r"^S2[AB]_MSIL2A_\d{8}T\d{5,6}_\d+_\d+$")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def read_json(path: Path) -> dict[str, Any]:
    """A metadata JSON object (strict JSON: NaN and Infinity are refused)."""
    if not path.is_file():
        raise PatchProblem(path, "missing metadata JSON")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise PatchProblem(path, f"not valid JSON ({str(error)[:200]})") from None
    if not isinstance(meta, dict):
        raise PatchProblem(path, f"not a JSON object ({type(meta).__name__})")
    return meta


def json_corners(path: Path, meta: dict[str, Any]) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) from the JSON; S1 files name the lower y ``lly``."""
    coords = meta.get("coordinates")
    if not isinstance(coords, dict):
        raise PatchProblem(path, "JSON has no 'coordinates'")
    lower = coords.get("lry", coords.get("lly"))
    values = [coords.get("ulx"), lower, coords.get("lrx"), coords.get("uly")]
    if any(not isinstance(v, int | float) or isinstance(v, bool) for v in values):
        raise PatchProblem(path, "JSON 'coordinates' lacks one of ulx, uly, lrx, lry/lly")
    left, bottom, right, top = (float(v) for v in values)
    if not all(math.isfinite(v) for v in values) or not (left < right and bottom < top):
        raise PatchProblem(path, f"JSON 'coordinates' {values} are not a square's corners")
    return left, bottom, right, top


def json_field(path: Path, meta: dict[str, Any], key: str) -> Any:
    if key not in meta:
        raise PatchProblem(path, f"JSON has no {key!r}")
    return meta[key]


def parse_time(path: Path, text: str) -> datetime:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        raise PatchProblem(path, f"unparseable acquisition time {text!r}") from None


def clc_labels(path: Path, labels: Any) -> list[str]:
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise PatchProblem(path, "JSON 'labels' is not a list of names")
    unknown = [x for x in labels if not nomenclature.is_clc_level3(x)]
    if unknown:
        raise PatchProblem(path, f"unknown CORINE level-3 label {unknown[0]!r}")
    return labels


def read_reference_map(
    reference_maps: dict[str, Path] | None, s2_name: str, check: str
) -> str | None:
    """The patch's 10 m reference map, if the archive has one for it."""
    if reference_maps is None or s2_name not in reference_maps:
        return None  # no Reference_Maps root, or a patch BigEarthNet v2 left out
    path = reference_maps[s2_name]
    if not path.is_file():
        raise PatchProblem(path, "missing, though the v2 metadata lists the patch")
    check_band(path, shape=(120, 120), dtype=None, check=check)
    return str(path)


def read_pair(
    s1_dir: Path,
    s2_root: Path,
    check: str,
    reference_maps: dict[str, Path] | None = None,
    non_finite: str = "reject",
) -> dict[str, Any]:
    """Read and verify one S1/S2 pair; raise PatchProblem on the first defect."""
    s1_json = s1_dir / f"{s1_dir.name}_labels_metadata.json"
    s1_meta = read_json(s1_json)
    s2_name = json_field(s1_json, s1_meta, "corresponding_s2_patch")
    if not isinstance(s2_name, str) or not S2_NAME.match(s2_name):
        raise PatchProblem(s1_json, f"corresponding_s2_patch {s2_name!r} is not an S2 patch name")
    try:
        return _read_named_pair(
            s1_dir, s1_json, s1_meta, s2_root / s2_name, check, reference_maps, non_finite
        )
    except PatchProblem as problem:
        problem.patch_id = s2_name  # the id under which the pair would have been indexed
        raise


def _read_named_pair(
    s1_dir: Path,
    s1_json: Path,
    s1_meta: dict[str, Any],
    s2_dir: Path,
    check: str,
    reference_maps: dict[str, Path] | None,
    non_finite: str,
) -> dict[str, Any]:
    s1_name, s2_name = s1_dir.name, s2_dir.name
    s1_corners = json_corners(s1_json, s1_meta)
    if not s2_dir.is_dir():  # the S1 JSON is at fault: it names a patch that is not there
        raise PatchProblem(s1_json, f"corresponding_s2_patch {s2_name} is not in {s2_dir.parent}")
    s2_json = s2_dir / f"{s2_name}_labels_metadata.json"
    s2_meta = read_json(s2_json)
    s2_corners = json_corners(s2_json, s2_meta)
    projection = json_field(s2_json, s2_meta, "projection")
    labels = clc_labels(s2_json, json_field(s2_json, s2_meta, "labels"))

    side = round(s2_corners[2] - s2_corners[0])
    first, repaired = None, 0
    for band, pixels in S2_BANDS.items():
        path = s2_dir / f"{s2_name}_{band}.tif"
        info = check_band(path, shape=(pixels, pixels), dtype="uint16", check=check)
        check_bounds(path, info, s2_corners)
        first = first or (path, info)
        check_same_grid(path, info, *first)
    for band in S1_BANDS:
        path = s1_dir / f"{s1_name}_{band}.tif"
        s1_info = check_band(path, shape=(120, 120), dtype="float32", check=check,
                             non_finite=non_finite)  # fmt: skip
        check_bounds(path, s1_info, s1_corners)
        check_same_grid(path, s1_info, *first)
        repaired += s1_info.non_finite
    epsg = first[1].epsg or _epsg_from_wkt(s2_json, projection)
    labels_19 = nomenclature.clc_to_ben19(labels)
    return {
        "patch_id": s2_name,
        "s1_name": s1_name,
        "s2_name": s2_name,
        "s1_dir": str(s1_dir),
        "s2_dir": str(s2_dir),
        "reference_map": read_reference_map(reference_maps, s2_name, check),
        "utm_epsg": epsg,
        "utm_ulx": s2_corners[0],
        "utm_uly": s2_corners[3],
        "utm_lrx": s2_corners[0] + side,
        "utm_lry": s2_corners[3] - side,
        "s1_time": parse_time(s1_json, json_field(s1_json, s1_meta, "acquisition_time")),
        "s2_time": parse_time(s2_json, json_field(s2_json, s2_meta, "acquisition_date")),
        "tile": s1_name.rsplit("_", 3)[1],
        "labels": labels,
        "labels_19": labels_19,
        "multi_hot_19": nomenclature.ben19_multi_hot(labels_19),
        "non_finite_pixels": repaired if check == "full" else None,
    }


def _epsg_from_wkt(path: Path, wkt: str) -> int:
    import pyproj

    epsg = pyproj.CRS.from_wkt(wkt).to_epsg()
    if epsg is None:
        raise PatchProblem(path, "projection has no EPSG code")
    return epsg


def s1_patch_folders(s1_root: Path, s2_root: Path) -> list[Path]:
    """The S1 patch folders under `s1_root`; a clear error for an empty or wrong root."""
    for root, what in ((s1_root, "S1"), (s2_root, "S2")):
        if not root.is_dir():
            raise InputError(root, f"BigEarthNet-{what} root folder does not exist")
        if not any(root.iterdir()):
            raise InputError(root, f"BigEarthNet-{what} root folder is empty")
    folders = sorted(p for p in s1_root.iterdir() if p.is_dir() and S1_NAME.match(p.name))
    if not folders:
        hint = ""
        if any(p.is_dir() and S2_NAME.match(p.name) for p in s1_root.iterdir()):
            hint = " (it holds S2 patch folders: are the S1 and S2 roots swapped?)"
        raise InputError(
            s1_root,
            "no BigEarthNet-S1 patch folders (expected <root>/<S1 name>/<S1 name>_VV.tif)" + hint,
        )
    if not any(p.is_dir() and S2_NAME.match(p.name) for p in s2_root.iterdir()):
        raise InputError(
            s2_root,
            "no BigEarthNet-S2 patch folders (expected <root>/<S2 name>/<S2 name>_B02.tif)",
        )
    return folders


def first_claims(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """Keep one pair per S2 patch: the first S1 folder (in name order) that names it; the
    others are bad input at their S1 JSON (an S2 patch has one S1 partner)."""
    first: dict[str, str] = {}
    kept, skipped = [], []
    for record in records:
        s2_name, s1_name = record["s2_name"], record["s1_name"]
        if s2_name not in first:
            first[s2_name] = s1_name
            kept.append(record)
            continue
        s1_json = Path(record["s1_dir"]) / f"{s1_name}_labels_metadata.json"
        reason = f"corresponding_s2_patch {s2_name} is already paired with {first[s2_name]}"
        skipped.append((s2_name, s1_name, str(s1_json), reason))
    return kept, skipped


def index_bigearthnet_v1(
    s1_root: Path,
    s2_root: Path,
    *,
    reference_root: Path | None = None,
    reference_metadata: Path | None = None,
    check: str = "full",
    non_finite: str = "reject",
    skip_bad: bool = False,
    workers: int = 1,
) -> tuple[pd.DataFrame, list[Skipped]]:
    folders = s1_patch_folders(Path(s1_root), Path(s2_root))
    maps = None
    if reference_root is not None:
        maps = reference_map_paths(Path(reference_root), reference_metadata)
    reader = functools.partial(read_pair, s2_root=Path(s2_root), check=check,
                               reference_maps=maps, non_finite=non_finite)  # fmt: skip
    records, skipped = collect(
        reader,
        folders,
        [f.name for f in folders],
        skip_bad=skip_bad,
        workers=workers,
        names_are_ids=False,
    )
    records, claimed_twice = first_claims(records)
    if claimed_twice and not skip_bad:
        raise InputError(*claimed_twice[0][2:])
    skipped += claimed_twice
    frame = pd.DataFrame.from_records(records)
    if frame.empty:  # every patch was skipped: the caller lists them and stops
        return frame, skipped
    if maps is not None:
        found = int(frame["reference_map"].notna().sum())
        print(f"bigearthnet-v1: reference maps for {found} of {len(frame)} pairs "
              f"(the others are not in BigEarthNet v2)", file=sys.stderr)  # fmt: skip
    flags = packaged.annotate(frame["s2_name"])
    return pd.concat([frame, flags], axis=1), skipped


def reference_map_paths(root: Path, metadata: Path | None) -> dict[str, Path]:
    """v1 S2 name -> reference map path, for every patch of the v2 metadata."""
    if not root.is_dir():
        raise InputError(root, "reference map root folder does not exist")
    metadata = Path(metadata) if metadata is not None else root.parent / reference_maps.METADATA
    ids = reference_maps.v1_to_v2_ids(metadata)
    return {v1: reference_maps.map_path(root, v2) for v1, v2 in ids.items()}
