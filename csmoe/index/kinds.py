"""The archive kinds the index reads: one registry for the command line, the workflow's
rules, the config schema's test and the index stage itself (no imports beyond the
standard library: the Snakefile reads it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchiveKind:
    name: str
    reader: str  # "module:function" returning (table, skipped)
    roots: tuple[str, ...] = ()  # folders the kind needs (config keys = option names)
    optional_roots: tuple[str, ...] = ()
    options: tuple[str, ...] = ()  # further options of its own
    pixels: bool = True  # reads rasters (check, non_finite, skip_bad, workers apply)
    about: str = ""


KINDS: dict[str, ArchiveKind] = {
    kind.name: kind
    for kind in (
        ArchiveKind("bigearthnet-v1", "csmoe.index.bigearthnet_v1:index_bigearthnet_v1",
                    roots=("s1_root", "s2_root"),
                    optional_roots=("reference_root", "reference_metadata"),
                    about="BigEarthNet v1.0: S1 and S2 roots, one folder per patch"),
        ArchiveKind("bigearthnet-v2", "csmoe.index.bigearthnet_v2:index_bigearthnet_v2",
                    roots=("root",), about="BigEarthNet v2.0 (reBEN) root"),
        ArchiveKind("ssl4eo-s12", "csmoe.index.ssl4eo_s12:index_ssl4eo_s12", roots=("root",),
                    options=("s2_product",), about="SSL4EO-S12 v1 GeoTIFF root"),
        ArchiveKind("ssl4eo-s12-v1.1", "csmoe.index.ssl4eo_s12_zarr:index_ssl4eo_s12_zarr",
                    roots=("root",), options=("s2_product", "cloud_threshold"),
                    about="SSL4EO-S12 v1.1 Zarr distribution root"),
        ArchiveKind("bigearthnet-names", "csmoe.index.bigearthnet_names:index_bigearthnet_names",
                    pixels=False, about="all BigEarthNet v1 pairs from their names (no pixels)"),
    )
}  # fmt: skip
ROOTS = {
    "s1_root": "the BigEarthNet-S1 root",
    "s2_root": "the BigEarthNet-S2 root",
    "reference_root": "the Reference_Maps root of BigEarthNet v2 (10 m CORINE maps)",
    "reference_metadata": "BigEarthNet v2 metadata.parquet mapping v1 names to v2 ids "
    "(default: beside the Reference_Maps root)",
    "root": "the archive root",
}
ROOT_KEYS = tuple(ROOTS)
