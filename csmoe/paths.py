"""Where each stage writes, as path templates the workflow's rules and the package share
(no imports: the Snakefile reads this module before anything else).

Placeholders are Snakemake wildcards; `format` fills them in code.
"""

PRETRAIN_RUN = "results/pretrain/{archive}/{sampler}/{model}/seed{seed}"
EVALUATION = "results/evaluate/{archive}/{sampler}/{model}/seed{seed}"
RANDOM_INIT = "results/evaluate/{archive}/baseline/random_init_{model}/seed{seed}"
BAND_STATS = "results/evaluate/{archive}/baseline/band_stats"
GEOBENCH = "results/geobench/{archive}/{sampler}/{model}/seed{seed}/{task}.json"
SHARDS = "results/shards/{archive}/{sampler}"
EVAL_SHARDS = "results/shards/{archive}/eval_{split}"
STUDY = "results/study"
# What the study stage writes into STUDY.
STUDY_OUTPUTS = ("table.csv", "table.md", "comparisons.csv", "claims.md", "claims.html",
                 "quality_vs_cost.png", "comparisons.png", "pretraining_loss.png",
                 "expert_shares.png", "retrieval_examples.png", "timing.csv")  # fmt: skip
