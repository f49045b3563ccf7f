# Sampling: one training manifest per archive x sampler.


rule sample_manifest:
    """A training manifest drawn from the described pool by one sampler."""
    input:
        paths.DESCRIPTORS,
    output:
        manifest=paths.MANIFEST,
        metrics=paths.SAMPLE_METRICS,
    log:
        "logs/sample/{archive}_{sampler}.log",
    benchmark:
        "benchmarks/sample/{archive}_{sampler}.tsv"
    wildcard_constraints:
        sampler="thematic_climatic|random|full",
    conda:
        "../../envs/geo.yaml"
    resources:
        mem_mb=16000,
        runtime=30,
    params:
        arguments=lambda wildcards: sampling_rules.arguments(config, wildcards),
    shell:
        '"$CSMOE_PYTHON" -m csmoe sample --descriptors {input:q} {params.arguments}'
        " --out {output.manifest:q} --metrics {output.metrics:q} > {log:q} 2>&1"
