"""Readers for the BigEarthNet v1 metadata files packaged in `bigearthnet-common`.

We read the package's data files directly: its helper functions may write under the
home folder. The files hold all 590,326 S1/S2 name pairs with country and season, the
official train/validation/test splits (519,284 patches: snow, cloud and label-less
patches are in no split) and the lists of patches with seasonal snow, with clouds or
shadows and with no BigEarthNet-19 label.
"""

from __future__ import annotations

import bz2
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_FILES = {
    "names": "s1_s2_name_country_season.csv.bz2",
    "train": "train.csv.bz2",
    "validation": "val.csv.bz2",
    "test": "test.csv.bz2",
    "snow": "patches_with_seasonal_snow.csv.bz2",
    "cloud": "patches_with_cloud_and_shadow.csv.bz2",
    "no_labels": "patches_with_no_19_class_targets.csv.bz2",
}
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class PackagedMetadata:
    names: pd.DataFrame  # s1_name, s2_name, country, season
    split_of: pd.Series  # s2_name -> split
    snow: frozenset[str]
    cloud: frozenset[str]
    no_labels: frozenset[str]


def _read_bytes(filename: str) -> bytes:
    # bz2 decompression releases the GIL: the files are read in parallel threads.
    return bz2.decompress(resources.files("bigearthnet_common").joinpath(filename).read_bytes())


def _name_list(raw: bytes) -> list[str]:
    return raw.decode("ascii").split()


@lru_cache(maxsize=1)
def load() -> PackagedMetadata:
    """Load every packaged table once per process."""
    with ThreadPoolExecutor(max_workers=len(_FILES)) as pool:
        raw = dict(zip(_FILES, pool.map(_read_bytes, _FILES.values()), strict=True))
    names = pd.read_csv(io.BytesIO(raw["names"]), engine="pyarrow", dtype="string")
    split_of = pd.concat(
        [pd.Series(split, index=_name_list(raw[split])) for split in SPLITS]
    ).astype("string")
    return PackagedMetadata(
        names=names,
        split_of=split_of,
        snow=frozenset(_name_list(raw["snow"])),
        cloud=frozenset(_name_list(raw["cloud"])),
        no_labels=frozenset(_name_list(raw["no_labels"])),
    )


def annotate(s2_names: pd.Series) -> pd.DataFrame:
    """Country, season, split and snow/cloud flags for BigEarthNet v1 S2 patch names.

    Names absent from the packaged metadata get missing values (not False).
    """
    meta = load()
    names = pa.array(s2_names, type=pa.large_string())
    row = pc.index_in(names, value_set=pa.array(meta.names["s2_name"], type=pa.large_string()))
    known = pc.is_valid(row).to_numpy(zero_copy_only=False)
    split = pc.index_in(names, value_set=pa.array(meta.split_of.index, type=pa.large_string()))

    def take(values: pd.Series, rows: pa.Array) -> pd.Series:
        return pd.Series(pa.array(values).take(rows), dtype="string").set_axis(s2_names.index)

    def flag(members: frozenset[str]) -> pd.Series:
        hit = pc.is_in(names, value_set=pa.array(sorted(members), type=pa.large_string()))
        out = pd.Series(pd.array(hit.to_numpy(zero_copy_only=False), dtype="boolean"))
        out[~known] = pd.NA
        return out.set_axis(s2_names.index)

    return pd.DataFrame(
        {
            "country": take(meta.names["country"], row),
            "season": take(meta.names["season"], row),
            "split": take(meta.split_of, split),
            "snow": flag(meta.snow),
            "cloud": flag(meta.cloud),
        }
    )
