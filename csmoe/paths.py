"""Where each stage writes, as path templates the workflow's rules and the package share
(no imports: the Snakefile reads this module before anything else).

Placeholders are Snakemake wildcards; `format` fills them in code.
"""

INDEX = "results/index/{archive}.parquet"
SKIPPED = "results/index/{archive}.skipped.tsv"
DESCRIPTORS = "results/descriptors/{archive}.parquet"
MANIFEST = "results/sample/{archive}/{sampler}.parquet"
SAMPLE_METRICS = "results/sample/{archive}/{sampler}.metrics.json"
EVAL_MANIFEST = "results/sample/{archive}/eval_{split}.parquet"
REPORT = "results/report/{archive}"
PRETRAIN_RUN = "results/pretrain/{archive}/{sampler}/{model}/seed{seed}"
EVALUATION = "results/evaluate/{archive}/{sampler}/{model}/seed{seed}"
RANDOM_INIT = "results/evaluate/{archive}/baseline/random_init_{model}/seed{seed}"
BAND_STATS = "results/evaluate/{archive}/baseline/band_stats"
GEOBENCH = "results/geobench/{archive}/{sampler}/{model}/seed{seed}/{task}.json"
SHARDS = "results/shards/{archive}/{sampler}"
EVAL_SHARDS = "results/shards/{archive}/eval_{split}"
# A copy of a shard folder's index.json (every shard's SHA-256) beside it: jobs that read
# the folder take this small file as input, whose checksum Snakemake records, so a folder
# rebuilt with the same bytes does not rerun them (a folder's time stamp alone would).
SHARD_INDEX_SUFFIX = ".index.json"
SHARDS_INDEX = SHARDS + SHARD_INDEX_SUFFIX
EVAL_SHARDS_INDEX = EVAL_SHARDS + SHARD_INDEX_SUFFIX
STUDY = "results/study"
# What the study stage writes into STUDY.
STUDY_OUTPUTS = ("table.csv", "table.md", "comparisons.csv", "claims.md", "claims.html",
                 "quality_vs_cost.png", "comparisons.png", "pretraining_loss.png",
                 "expert_shares.png", "retrieval_examples.png", "timing.csv")  # fmt: skip


def parse(template: str, path) -> dict[str, str] | None:
    """The wildcard values of `path` under `template` (its trailing part), or None."""
    import re

    pattern = re.escape(template)
    for name in re.findall(r"\\\{(\w+)\\\}", pattern):
        pattern = pattern.replace(rf"\{{{name}\}}", rf"(?P<{name}>[^/]+)", 1)
    found = re.search(rf"(?:^|/){pattern}$", str(path))
    return found.groupdict() if found else None
