rule describe_patches:
    """Köppen-Geiger and CORINE class fractions of every patch, joined to the index."""
    input:
        unpack(descriptor_input),
    output:
        "results/descriptors/{archive}.parquet",
    log:
        "logs/descriptors/{archive}.log",
    benchmark:
        "benchmarks/descriptors/{archive}.tsv"
    conda:
        "../../envs/geo.yaml"
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        arguments=descriptor_arguments,
    shell:
        "python -m csmoe descriptors --index {input.index:q} --koppen {input.koppen:q}"
        " --koppen-legend {input.koppen_legend:q} {params.arguments} --out {output:q}"
        " > {log:q} 2>&1"
