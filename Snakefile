# csmoe: descriptor-driven Sentinel-1/2 pretraining sets and the CSMoE foundation model.
#
# Path convention:
#   resources/<what>/...           inputs the workflow builds itself (embedded examples, ...)
#   results/<stage>/<name>...      outputs of each stage, e.g. results/index/<archive>.parquet
#   logs/<stage>/<name>.log        one log per job
#   benchmarks/<stage>/<name>.tsv  runtime and memory of the heavy jobs
#
# Every rule is a thin call of `python -m csmoe <stage> ...`; the logic lives in csmoe/.
# Config: the embedded demo (config/config.yaml), unless config files are given with
# --configfile: those are then the whole config (config/study.yaml for real data), not
# merged over the demo's, so that no demo archive or model leaks into the study.

from snakemake.utils import min_version

min_version("9.20")


if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# Config files read strictly, then validated against the schema (common.smk).
include: "workflow/rules/common.smk"
include: "workflow/rules/koppen.smk"
include: "workflow/rules/examples.smk"
include: "workflow/rules/synthetic.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/descriptors.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/shards.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/geobench.smk"


rule all:
    default_target: True
    input:
        targets.study_outputs(config),
