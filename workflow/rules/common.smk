# Set-up shared by every rule file: config checks, the shell prefix, the targets.
# What each stage's rules look up in the config lives in csmoe/rules/<stage>.py (plain
# Python, unit-tested); the logic of the stages lives in the rest of csmoe/.

import os
import shlex
import sys

from snakemake.utils import validate
from snakemake_interface_executor_plugins.settings import DeploymentMethod

# The workflow's own folder, from this file's place: not `workflow.basedir`, which is the
# consumer's folder when the workflow is used as a Snakemake module.
CSMOE_ROOT = os.path.dirname(
    os.path.dirname(workflow.current_basedir.get_path_or_uri(secret_free=True))
)

# The Snakefile may be parsed by a Snakemake installed without csmoe (e.g. with conda).
sys.path.insert(0, CSMOE_ROOT)

from csmoe import paths
from csmoe.config import check_files as check_config_files
from csmoe.config import validate as validate_config
from csmoe import preflight, watchdog
from csmoe.rules import descriptors as descriptor_rules
from csmoe.rules import evaluation as evaluation_rules
from csmoe.rules import geobench as geobench_rules
from csmoe.rules import index as index_rules
from csmoe.rules import koppen as koppen_rules
from csmoe.rules import pretrain as pretrain_rules
from csmoe.rules import resources as resource_rules
from csmoe.rules import sampling as sampling_rules
from csmoe.rules import shards as shard_rules
from csmoe.rules import targets

# Snakemake's YAML loader accepts duplicate keys and aliases: each config file is read
# again strictly (one line per problem) before the schema sees the merged config. The
# schema fills defaults; csmoe's validation adds finite numbers and cross-key checks
# (study.archives must name configured archives) with the same message style.
check_config_files(workflow.configfiles)
# csmoe's check first: one line naming the key (a misspelt one with the nearest known
# name), numbers accepted where the schema means a name; then the schema's defaults.
validate_config(config, "config")
validate(config, os.path.join(CSMOE_ROOT, "workflow/schemas/config.schema.yaml"))

# Rules call the package from this checkout, also inside a conda environment, with the
# interpreter that runs Snakemake (its environment, whatever PATH holds); with --use-conda,
# the `python` of each rule's environment. Kept out of the rules' params: moving the
# environment must not rerun jobs.
# (Braces are doubled twice: once for the f-string, once for Snakemake's formatting.)
CSMOE_PYTHON = (
    "python"
    if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    else sys.executable
)
shell.prefix(
    f"export PYTHONPATH={shlex.quote(CSMOE_ROOT)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    f"CSMOE_PYTHON={shlex.quote(CSMOE_PYTHON)}; "
)


# Jobs end with the Snakemake process that started them (csmoe.watchdog): this one,
# wherever it runs (each cluster job's own Snakemake sets it anew).
os.environ[watchdog.VARIABLE] = str(os.getpid())


# Before the first job (not in a dry run): every input file of the config is what its key
# says, all problems named at once, and a local run sees the GPUs its planned jobs ask
# for (under a cluster executor each job's own run checks its node).
onstart:
    preflight.check(
        config,
        "config",
        local=workflow.local_exec,
        planned={
            job.rule.name: resource_rules.job_gpus(job.resources)
            for job in workflow.dag.needrun_jobs()
        },
    )
