rule extract_examples:
    """Unpack the six real BigEarthNet v1 example pairs shipped in bigearthnet-common."""
    output:
        directory("resources/examples"),
    log:
        "logs/examples/extract_examples.log",
    benchmark:
        "benchmarks/examples/extract_examples.tsv"
    conda:
        "../../envs/geo.yaml"
    shell:
        '"$CSMOE_PYTHON" -m csmoe examples --out {output:q} > {log:q} 2>&1'
