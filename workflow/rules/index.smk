rule build_index:
    """One GeoParquet row per S1/S2 pair of an archive, with footprint and metadata."""
    input:
        index_input,
    output:
        **index_outputs(),
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
        arguments=index_arguments,
    shell:
        "python -m csmoe index {params.arguments} --workers {threads}"
        " --out {output.index:q} > {log:q} 2>&1"
