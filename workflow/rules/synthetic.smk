rule build_synthetic:
    """The synthetic demo archive: S1/S2 patches at real BigEarthNet locations (v1 layout),
    its CORINE-coded land-cover raster, and the six real example pairs."""
    input:
        koppen=koppen_rules.raster(config),
        koppen_legend=koppen_rules.legend(config),
    output:
        archive=directory("resources/synthetic/archive"),
        landcover="resources/synthetic/landcover.tif",
        legend="resources/synthetic/landcover.legend.csv",
    log:
        "logs/synthetic/build_synthetic.log",
    benchmark:
        "benchmarks/synthetic/build_synthetic.tsv"
    conda:
        "../../envs/geo.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        size=config["synthetic"]["size"],
        seed=config["seed"],
    shell:
        '"$CSMOE_PYTHON" -m csmoe synth --size {params.size} --seed {params.seed}'
        " --out {output.archive:q} --landcover {output.landcover:q}"
        " --koppen-raster {input.koppen:q} --koppen-legend {input.koppen_legend:q}"
        " --workers {threads} > {log:q} 2>&1"
