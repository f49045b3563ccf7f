# Index: one GeoParquet row per S1/S2 pair of each configured archive.


rule build_index:
    """One GeoParquet row per S1/S2 pair of an archive, with footprint and metadata."""
    input:
        lambda wildcards: index_rules.inputs(config, wildcards),
    output:
        **index_rules.outputs(config),
    log:
        "logs/index/{archive}.log",
    benchmark:
        "benchmarks/index/{archive}.tsv"
    conda:
        "../../envs/geo.yaml"
    threads: config["index"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        arguments=lambda wildcards: index_rules.arguments(config, wildcards),
    shell:
        '"$CSMOE_PYTHON" -m csmoe index {params.arguments} --workers {threads}'
        " --out {output.index:q} > {log:q} 2>&1"
