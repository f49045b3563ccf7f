# Descriptors: climate and land-cover fractions per indexed patch.


rule describe_patches:
    """Köppen-Geiger and CORINE class fractions of every patch, joined to the index."""
    input:
        unpack(lambda wildcards: descriptor_rules.inputs(config, wildcards)),
    output:
        paths.DESCRIPTORS,
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
        arguments=lambda wildcards: descriptor_rules.arguments(config, wildcards),
    shell:
        '"$CSMOE_PYTHON" -m csmoe descriptors --index {input.index:q} --koppen-raster {input.koppen:q}'
        " --koppen-legend {input.koppen_legend:q} {params.arguments} --out {output:q}"
        " > {log:q} 2>&1"
