"""BigEarthNet knowledge shared by several stages: names, nomenclature, packaged metadata."""
