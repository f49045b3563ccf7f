rule report_descriptors:
    """Climate (and land-cover) classes of every described patch."""
    input:
        paths.DESCRIPTORS,
    output:
        report(
            f"{paths.REPORT}/descriptors.png",
            caption="../report/descriptors.rst",
            category="Descriptors",
            subcategory="{archive}",
        ),
    log:
        "logs/report/{archive}_descriptors.log",
    benchmark:
        "benchmarks/report/{archive}_descriptors.tsv"
    conda:
        "../../envs/geo.yaml"
    shell:
        '"$CSMOE_PYTHON" -m csmoe report --descriptors {input:q} --archive {wildcards.archive}'
        " --descriptor-figure {output:q} > {log:q} 2>&1"


rule report_sampling:
    """Diversity and representativeness of each sampler's manifest, with figures."""
    input:
        descriptors=paths.DESCRIPTORS,
        manifests=lambda wildcards: sampling_rules.sampled(
            config, wildcards.archive, "manifest"
        ),
        metrics=lambda wildcards: sampling_rules.sampled(
            config, wildcards.archive, "metrics"
        ),
        koppen=koppen_rules.raster(config),
        koppen_legend=koppen_rules.legend(config),
    output:
        table=report(
            f"{paths.REPORT}/sampling.tsv",
            caption="../report/sampling_table.rst",
            category="Sampling",
            subcategory="{archive}",
        ),
        map=report(
            f"{paths.REPORT}/sampling_map.png",
            caption="../report/sampling_map.rst",
            category="Sampling",
            subcategory="{archive}",
        ),
        distributions=report(
            f"{paths.REPORT}/sampling_distributions.png",
            caption="../report/sampling_distributions.rst",
            category="Sampling",
            subcategory="{archive}",
        ),
    log:
        "logs/report/{archive}_sampling.log",
    benchmark:
        "benchmarks/report/{archive}_sampling.tsv"
    conda:
        "../../envs/geo.yaml"
    params:
        manifests=lambda wildcards, input: sampling_rules.named_arguments(
            config, input.manifests
        ),
        metrics=lambda wildcards, input: sampling_rules.named_arguments(
            config, input.metrics
        ),
        exclusions=sampling_rules.exclusion_arguments(config),
        water_symbols=shlex.join(config["descriptors"]["water_symbols"]),
    shell:
        '"$CSMOE_PYTHON" -m csmoe report --descriptors {input.descriptors:q} --archive {wildcards.archive}'
        " --koppen-raster {input.koppen:q} --koppen-legend {input.koppen_legend:q}"
        " --water-symbols {params.water_symbols}"
        " --manifest {params.manifests} --metrics {params.metrics} {params.exclusions}"
        " --table {output.table:q} --map {output.map:q}"
        " --distributions {output.distributions:q} > {log:q} 2>&1"
