# Shards: a manifest's pixels as checksummed safetensors files.


rule write_shards:
    """A manifest's samples as checksummed safetensors shards, with normalisation stats."""
    input:
        paths.MANIFEST,
    output:
        folder=directory(paths.SHARDS),
        index=paths.SHARDS_INDEX,
    log:
        "logs/shards/{archive}_{sampler}.log",
    benchmark:
        "benchmarks/shards/{archive}_{sampler}.tsv"
    wildcard_constraints:
        sampler=r"[^/.]+",
    conda:
        "../../envs/torch.yaml"
    threads: config["shards"]["threads"]
    resources:
        mem_mb=8000,
        runtime=600,
    params:
        arguments=shard_rules.arguments(config),
    shell:
        '"$CSMOE_PYTHON" -m csmoe shard --manifest {input:q} --out {output.folder:q} {params.arguments}'
        " --workers {threads} > {log:q} 2>&1 && cp {output.folder:q}/index.json {output.index:q}"
