# Evaluation: split shards, every encoder and baseline on every task, the study summary.


rule eval_manifest:
    """One official split of an archive (optionally capped) for evaluation."""
    input:
        paths.INDEX,
    output:
        paths.EVAL_MANIFEST,
    log:
        "logs/evaluate/{archive}_manifest_{split}.log",
    benchmark:
        "benchmarks/evaluate/{archive}_manifest_{split}.tsv"
    wildcard_constraints:
        split="train|validation|test",
    conda:
        "../../envs/geo.yaml"
    params:
        arguments=lambda wildcards: evaluation_rules.eval_manifest_arguments(
            config, wildcards
        ),
    shell:
        '"$CSMOE_PYTHON" -m csmoe eval-manifest --index {input:q} {params.arguments}'
        " --out {output:q} > {log:q} 2>&1"


rule evaluate:
    """A pretrained encoder on classification, segmentation, retrieval and cost (the two
    baselines below are this rule with other features)."""
    input:
        unpack(evaluation_rules.split_shards),
        encoder=f"{paths.PRETRAIN_RUN}/encoder.safetensors",
    output:
        **evaluation_rules.outputs(paths.EVALUATION),
    log:
        "logs/evaluate/{archive}_{sampler}_{model}_seed{seed}.log",
    benchmark:
        "benchmarks/evaluate/{archive}_{sampler}_{model}_seed{seed}.tsv"
    wildcard_constraints:
        sampler="thematic_climatic|random|full",
        seed=r"\d+",
    conda:
        "../../envs/torch.yaml"
    threads: config["evaluation"]["threads"]
    resources:
        **resource_rules.gpu(config, "evaluation"),
        mem_mb=16000,
        runtime=480,
    params:
        features="pretrained",
        seed=config["seed"],
        encoder=lambda wildcards, input: evaluation_rules.encoder_argument(input),
        run=lambda wildcards: evaluation_rules.run_arguments(wildcards),
        shards=lambda wildcards, input: evaluation_rules.shard_folders(input),
        arguments=evaluation_rules.arguments(config),
        out=lambda wildcards, output: os.path.dirname(output.metrics),
    shell:
        '"$CSMOE_PYTHON" -m csmoe evaluate --features {params.features} {params.encoder}'
        " {params.shards} {params.arguments} --seed {params.seed} {params.run} --threads {threads}"
        " --out {params.out:q} > {log:q} 2>&1"


use rule evaluate as evaluate_random_init with:
    input:
        unpack(evaluation_rules.split_shards),
        encoder=lambda wildcards: evaluation_rules.baseline_encoder(config, wildcards),
    output:
        **evaluation_rules.outputs(paths.RANDOM_INIT),
    log:
        "logs/evaluate/{archive}_random_init_{model}_seed{seed}.log",
    benchmark:
        "benchmarks/evaluate/{archive}_random_init_{model}_seed{seed}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    params:
        features="random_init",
        seed=lambda wildcards: wildcards.seed,


use rule evaluate as evaluate_band_stats with:
    input:
        unpack(evaluation_rules.split_shards),
    output:
        **evaluation_rules.outputs(paths.BAND_STATS),
    log:
        "logs/evaluate/{archive}_band_stats.log",
    benchmark:
        "benchmarks/evaluate/{archive}_band_stats.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        features="band_stats",


rule study_table:
    """One table of every encoder and baseline, and the study's figures."""
    input:
        unpack(lambda wildcards: evaluation_rules.study_inputs(config)),
    output:
        table=report(
            f"{paths.STUDY}/table.csv",
            caption="../report/study_table.rst",
            category="Study",
        ),
        markdown=f"{paths.STUDY}/table.md",
        comparisons=report(
            f"{paths.STUDY}/comparisons.csv",
            caption="../report/study_comparisons.rst",
            category="Study",
        ),
        claims=f"{paths.STUDY}/claims.md",
        claims_page=report(
            f"{paths.STUDY}/claims.html",
            caption="../report/study_claims.rst",
            category="Study",
        ),
        forest=report(
            f"{paths.STUDY}/comparisons.png",
            caption="../report/study_comparisons_figure.rst",
            category="Study",
        ),
        timing=f"{paths.STUDY}/timing.csv",
        quality=report(
            f"{paths.STUDY}/quality_vs_cost.png",
            caption="../report/study_quality.rst",
            category="Study",
        ),
        losses=report(
            f"{paths.STUDY}/pretraining_loss.png",
            caption="../report/study_losses.rst",
            category="Study",
        ),
        experts=report(
            f"{paths.STUDY}/expert_shares.png",
            caption="../report/study_experts.rst",
            category="Study",
        ),
        examples=report(
            f"{paths.STUDY}/retrieval_examples.png",
            caption="../report/study_examples.rst",
            category="Study",
        ),
    log:
        "logs/study/study_table.log",
    benchmark:
        "benchmarks/study/study_table.tsv"
    conda:
        "../../envs/torch.yaml"
    params:
        out=lambda wildcards, output: os.path.dirname(output.table),
        seed=config["seed"],
        shards=lambda wildcards, input: evaluation_rules.shard_folders(
            input, ("queries", "test")
        ),
    shell:
        '"$CSMOE_PYTHON" -m csmoe study --metrics {input.metrics:q} --logs {input.logs:q}'
        " --examples {input.examples:q} {params.shards}"
        " --seed {params.seed} --out {params.out} > {log:q} 2>&1"
