"""Rule options do not depend on the order of a config's keys: the same config with its
keys in another order (any YAML tool may write them sorted) gives every rule the same
arguments, so Snakemake sees the same params and reruns nothing."""

from __future__ import annotations

import copy
import importlib
import inspect
import itertools
import pkgutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from runner import REPO, load_yaml, reversed_keys
from snakemake.iocontainers import InputFiles
from snakemake.utils import validate

import csmoe.rules
from csmoe import paths
from csmoe.sampling.samplers import SAMPLERS

EMPTY = inspect.Parameter.empty
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def sorted_keys(node):
    """`node` as a YAML tool writes it back with sorted keys."""
    return yaml.safe_load(yaml.safe_dump(node, sort_keys=True))


def workflow_config(config: dict) -> dict:
    """The config as the rules get it: validated, the schema's defaults filled in."""
    config = copy.deepcopy(config)
    validate(config, SCHEMA)
    return config


def rule_functions():
    """Every public function of csmoe.rules.<stage>."""
    for info in pkgutil.iter_modules(csmoe.rules.__path__):
        module = importlib.import_module(f"csmoe.rules.{info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{info.name}.{name}", function


def argument_values(config: dict) -> dict[str, list]:
    """What each parameter name of a rule function can be: every archive, sampler, model,
    seed, split and task of the config as wildcards, and the rule-side values."""
    archives = sorted(config["archives"])  # the same calls, in the same order, for both
    models = sorted(config["pretrain"]["models"])
    seeds = config["pretrain"].get("seeds") or [config["seed"]]
    wildcards = [
        SimpleNamespace(archive=a, sampler=s, model=m, seed=str(n), split=split, task=task)
        for a, s, m, n, split, task in itertools.product(
            archives, SAMPLERS, models, seeds, ("train", "validation", "test"),
            config["geobench"]["tasks"][:1],
        )
    ]  # fmt: skip
    shards = {
        key: f"results/shards/a/eval_{key}.index.json" for key in ("train", "queries", "test")
    }
    inputs = [
        InputFiles(fromdict=shards | {"encoder": "run/encoder.safetensors"}),
        InputFiles(fromdict=shards),
    ]
    return {
        "config": [config],
        "wildcards": wildcards,
        "input": inputs,
        "resources": [{"gpu": 0}, {"gpu": 1}, {"gpu": 4}],
        "threads": [1, 8, 40],
        "files": [[f"{s}.parquet" for s in config["study"]["samplers"]]],
        "archive": archives,
        "name": archives,
        "settings": [config["archives"][a] for a in archives],
        "kind": ["manifest", "metrics"],
        "template": [paths.EVALUATION, paths.RANDOM_INIT, paths.BAND_STATS],
        "section": ["pretrain", "evaluation", "geobench"],
        "index": list(shards.values()),
    }


def outcome(function, kwargs: dict):
    """What a call gives (functions in the result called as Snakemake would), or the
    error it raises."""
    try:
        value = function(**kwargs)
    except Exception as error:  # the same error for both configs is the same outcome
        return ("raises", type(error).__name__, str(error))
    if isinstance(value, dict):
        return {key: outcome(v, kwargs) if callable(v) else v for key, v in value.items()}
    if callable(value):
        names = inspect.signature(value).parameters
        return value(**{n: kwargs.get(n, {"threads": 8}.get(n)) for n in names})
    return value


def all_outcomes(config: dict) -> dict[str, list]:
    values = argument_values(config)
    found = {}
    for name, function in rule_functions():
        signature = inspect.signature(function).parameters
        parameters = [p for p in signature if p in values or signature[p].default is EMPTY]
        unknown = [p for p in parameters if p not in values]
        assert not unknown, f"{name}: give the test values for parameter(s) {unknown}"
        calls = itertools.product(*(values[p] for p in parameters))
        found[name] = [outcome(function, dict(zip(parameters, call, strict=True)))
                       for call in calls]  # fmt: skip
    return found


def with_unordered_extras(config: dict) -> dict:
    """The config with the mappings its shipped form leaves short: a model with preset
    options, and an exclusion switched off."""
    config = copy.deepcopy(config)
    models = config["pretrain"]["models"]
    models["zz_options"] = {
        "preset": "csmoe_tiny",
        "options": {"mask_ratio": 0.5, "mask_mode": "complementary", "extra": {"b": 1, "a": 2}},
    }
    config["sampling"]["exclude"]["cloud"] = False
    return config


@pytest.mark.parametrize("name", ["config.yaml", "study.yaml"])
@pytest.mark.parametrize("reorder", [sorted_keys, reversed_keys])
def test_every_rule_function_ignores_the_order_of_config_keys(name: str, reorder) -> None:
    shipped = with_unordered_extras(load_yaml(name))
    assert list(reorder(shipped)) != list(shipped)  # the reordering reorders
    expected = all_outcomes(workflow_config(shipped))
    reordered = all_outcomes(workflow_config(reorder(shipped)))
    assert expected.keys() == reordered.keys()
    differ = [key for key in expected if expected[key] != reordered[key]]
    assert not differ, differ


def test_exclusions_and_models_come_in_one_canonical_order(tmp_path: Path) -> None:
    from csmoe.rules import pretrain, sampling

    config = workflow_config(with_unordered_extras(load_yaml("config.yaml")))
    assert sampling.exclusion_arguments(config) == (
        "--exclude-snow --no-exclude-cloud --exclude-no-labels"
    )
    arguments = pretrain.arguments(config, SimpleNamespace(model="zz_options"))
    assert (
        arguments.index("extra=") < arguments.index("mask_mode=") < arguments.index("mask_ratio=")
    )
    assert '\'extra={"a": 2, "b": 1}\'' in arguments
    assert pretrain.model_names(reversed_keys(config)) == ["csmae_tiny", "csmoe_tiny", "zz_options"]
