"""The shard rule, and the shard folder of a shard index (`csmoe.paths.SHARDS_INDEX`)."""

from __future__ import annotations

import shlex

from csmoe.paths import SHARD_INDEX_SUFFIX


def folder(index: str) -> str:
    """The shard folder whose ``index.json`` the file `index` copies."""
    if not str(index).endswith(SHARD_INDEX_SUFFIX):
        raise ValueError(f"not a shard index path: {index}")
    return str(index).removesuffix(SHARD_INDEX_SUFFIX)


def arguments(config: dict) -> str:
    shards = config["shards"]
    args = ["--shard-size", str(shards["shard_size"]), "--stats", shards["stats"]]
    args += ["--s2-bands", *shards["s2_bands"]]
    args += ["--non-finite", config["index"]["non_finite"]]  # the index's policy
    if shards["skip_missing"]:
        args.append("--skip-missing")
    return shlex.join(args)
