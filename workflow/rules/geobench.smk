# GEO-Bench: every pretraining run on the configured tasks, beside the published scores.


rule geobench_evaluate:
    """One frozen encoder on one GEO-Bench task (linear head or light decoder)."""
    input:
        f"{paths.PRETRAIN_RUN}/encoder.safetensors",
    output:
        paths.GEOBENCH,
    log:
        "logs/geobench/{archive}_{sampler}_{model}_seed{seed}_{task}.log",
    benchmark:
        "benchmarks/geobench/{archive}_{sampler}_{model}_seed{seed}_{task}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/torch.yaml"
    threads: config["geobench"]["threads"]
    resources:
        **resource_rules.gpu(config, "geobench"),
        mem_mb=16000,
        runtime=240,
    params:
        arguments=geobench_rules.arguments(config),
        run=lambda wildcards: evaluation_rules.run_arguments(wildcards),
    shell:
        '"$CSMOE_PYTHON" -m csmoe geobench --encoder {input:q} --task {wildcards.task}'
        " {params.arguments} {params.run} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule geobench_table:
    """Our GEO-Bench scores beside the published CSMoE Table IV."""
    input:
        lambda wildcards: geobench_rules.results(config),
    output:
        table=report(
            f"{paths.STUDY}/geobench.csv",
            caption="../report/study_geobench.rst",
            category="Study",
        ),
        markdown=f"{paths.STUDY}/geobench.md",
    log:
        "logs/study/geobench_table.log",
    benchmark:
        "benchmarks/study/geobench_table.tsv"
    conda:
        "../../envs/torch.yaml"
    params:
        out=lambda wildcards, output: os.path.dirname(output.table),
    shell:
        '"$CSMOE_PYTHON" -m csmoe geobench-table --results {input:q} --out {params.out:q}'
        " > {log:q} 2>&1"
