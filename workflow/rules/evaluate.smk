# Evaluation: split shards, every encoder and baseline on every task, the study summary.


rule eval_manifest:
    """One official split of an archive (optionally capped) for evaluation."""
    input:
        "results/index/{archive}.parquet",
    output:
        "results/sample/{archive}/eval_{split}.parquet",
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
        "python -m csmoe eval-manifest --index {input:q} {params.arguments}"
        " --out {output:q} > {log:q} 2>&1"


rule evaluate:
    """A pretrained encoder on classification, segmentation, retrieval and cost."""
    input:
        unpack(evaluation_rules.split_shards),
        encoder=f"{paths.PRETRAIN_RUN}/encoder.safetensors",
    output:
        f"{paths.EVALUATION}/metrics.json",
        f"{paths.EVALUATION}/predictions.safetensors",
        f"{paths.EVALUATION}/timing.json",
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
        gpu=config["evaluation"]["gpus"],
        cpus_per_gpu=lambda wildcards, threads: resource_rules.cpus_per_gpu(
            config, "evaluation", threads
        ),
        mem_mb=16000,
        runtime=480,
    params:
        arguments=evaluation_rules.arguments(config),
        out=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m csmoe evaluate --encoder {input.encoder:q} --train {input.train:q}"
        " --queries {input.queries:q} --test {input.test:q} {params.arguments}"
        " --threads {threads} --out {params.out} > {log:q} 2>&1"


rule evaluate_random_init:
    """Baseline: the model's architecture with random weights (one per seed)."""
    input:
        unpack(evaluation_rules.split_shards),
        encoder=lambda wildcards: evaluation_rules.baseline_encoder(config, wildcards),
    output:
        f"{paths.RANDOM_INIT}/metrics.json",
        f"{paths.RANDOM_INIT}/predictions.safetensors",
        f"{paths.RANDOM_INIT}/timing.json",
    log:
        "logs/evaluate/{archive}_random_init_{model}_seed{seed}.log",
    benchmark:
        "benchmarks/evaluate/{archive}_random_init_{model}_seed{seed}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/torch.yaml"
    threads: config["evaluation"]["threads"]
    resources:
        gpu=config["evaluation"]["gpus"],
        cpus_per_gpu=lambda wildcards, threads: resource_rules.cpus_per_gpu(
            config, "evaluation", threads
        ),
        mem_mb=16000,
        runtime=480,
    params:
        arguments=evaluation_rules.arguments(config),
        out=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m csmoe evaluate --features random_init --encoder {input.encoder:q}"
        " --train {input.train:q} --queries {input.queries:q} --test {input.test:q}"
        " {params.arguments} --seed {wildcards.seed} --threads {threads}"
        " --out {params.out} > {log:q} 2>&1"


rule evaluate_band_stats:
    """Baseline: per-band means and standard deviations, no network."""
    input:
        unpack(evaluation_rules.split_shards),
    output:
        f"{paths.BAND_STATS}/metrics.json",
        f"{paths.BAND_STATS}/predictions.safetensors",
        f"{paths.BAND_STATS}/timing.json",
    log:
        "logs/evaluate/{archive}_band_stats.log",
    benchmark:
        "benchmarks/evaluate/{archive}_band_stats.tsv"
    conda:
        "../../envs/torch.yaml"
    params:
        arguments=evaluation_rules.arguments(config),
        out=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m csmoe evaluate --features band_stats --train {input.train:q}"
        " --queries {input.queries:q} --test {input.test:q} {params.arguments}"
        " --threads {threads} --out {params.out} > {log:q} 2>&1"


rule study_table:
    """One table of every encoder and baseline, and the study's figures."""
    input:
        unpack(lambda wildcards: evaluation_rules.study_inputs(config)),
    output:
        table=report(
            "results/study/table.csv",
            caption="../report/study_table.rst",
            category="Study",
        ),
        markdown="results/study/table.md",
        comparisons=report(
            "results/study/comparisons.csv",
            caption="../report/study_comparisons.rst",
            category="Study",
        ),
        claims="results/study/claims.md",
        claims_page=report(
            "results/study/claims.html",
            caption="../report/study_claims.rst",
            category="Study",
        ),
        forest=report(
            "results/study/comparisons.png",
            caption="../report/study_comparisons_figure.rst",
            category="Study",
        ),
        timing="results/study/timing.csv",
        quality=report(
            "results/study/quality_vs_cost.png",
            caption="../report/study_quality.rst",
            category="Study",
        ),
        losses=report(
            "results/study/pretraining_loss.png",
            caption="../report/study_losses.rst",
            category="Study",
        ),
        experts=report(
            "results/study/expert_shares.png",
            caption="../report/study_experts.rst",
            category="Study",
        ),
        examples=report(
            "results/study/retrieval_examples.png",
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
    shell:
        "python -m csmoe study --metrics {input.metrics:q} --logs {input.logs:q}"
        " --examples {input.examples:q} --queries {input.queries:q} --archive {input.archive:q}"
        " --seed {params.seed} --out {params.out} > {log:q} 2>&1"
