"""The shard rule."""

from __future__ import annotations

import shlex


def arguments(config: dict) -> str:
    shards = config["shards"]
    args = ["--shard-size", str(shards["shard_size"]), "--stats", shards["stats"]]
    args += ["--s2-bands", *shards["s2_bands"]]
    args += ["--non-finite", config["index"]["non_finite"]]  # the index's policy
    if shards["skip_missing"]:
        args.append("--skip-missing")
    return shlex.join(args)
