# Pretraining: one run per sharded archive x sampler x model x seed (config `pretrain`).


rule pretrain:
    """CSMoE / CSMAE pretraining on a shard folder; a rerun resumes from its checkpoints."""
    input:
        paths.SHARDS_INDEX,
    output:
        encoder=f"{paths.PRETRAIN_RUN}/encoder.safetensors",
        encoder_json=f"{paths.PRETRAIN_RUN}/encoder.json",
        model=f"{paths.PRETRAIN_RUN}/model.safetensors",
        model_json=f"{paths.PRETRAIN_RUN}/model.json",
        log_jsonl=f"{paths.PRETRAIN_RUN}/log.jsonl",
        timing=f"{paths.PRETRAIN_RUN}/timing.jsonl",
    log:
        "logs/pretrain/{archive}_{sampler}_{model}_seed{seed}.log",
    benchmark:
        "benchmarks/pretrain/{archive}_{sampler}_{model}_seed{seed}.tsv"
    wildcard_constraints:
        sampler="thematic_climatic|random|full",
        seed=r"\d+",
    conda:
        "../../envs/torch.yaml"
    threads: pretrain_rules.job_threads(config)
    resources:
        **resource_rules.gpu(config, "pretrain"),
        mem_mb=16000,
        runtime=2880,
    params:
        launcher=lambda wildcards, resources: pretrain_rules.launcher(resources),
        shards=lambda wildcards, input: shard_rules.folder(input[0]),
        arguments=lambda wildcards: pretrain_rules.arguments(config, wildcards),
        process_threads=lambda wildcards, threads, resources: (
            pretrain_rules.process_threads(config, threads, resources)
        ),
        run_dir=lambda wildcards, output: os.path.dirname(output.encoder),
        checkpoints=lambda wildcards, output: os.path.join(
            os.path.dirname(output.encoder), "checkpoints"
        ),
    shell:
        '"$CSMOE_PYTHON" {params.launcher} pretrain --shards {params.shards:q} --out {params.run_dir}'
        " --checkpoint-dir {params.checkpoints} {params.arguments} --seed {wildcards.seed}"
        " --threads {params.process_threads} > {log:q} 2>&1"


rule plot_pretraining:
    """Loss curves of one pretraining run."""
    input:
        f"{paths.PRETRAIN_RUN}/log.jsonl",
    output:
        report(
            f"{paths.PRETRAIN_RUN}/loss.png",
            caption="../report/pretraining_loss.rst",
            category="Pretraining",
            subcategory="{archive}",
            labels={"sampler": "{sampler}", "model": "{model}", "seed": "{seed}"},
        ),
    log:
        "logs/pretrain/{archive}_{sampler}_{model}_seed{seed}_plot.log",
    benchmark:
        "benchmarks/pretrain/{archive}_{sampler}_{model}_seed{seed}_plot.tsv"
    conda:
        "../../envs/torch.yaml"
    params:
        title="{model} on {archive} / {sampler} manifest, seed {seed}",
    shell:
        '"$CSMOE_PYTHON" -m csmoe plot-training --log {input:q} --out {output:q}'
        " --title '{params.title}' > {log:q} 2>&1"
