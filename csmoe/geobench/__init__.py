"""GEO-Bench v1.0 tasks read without the `geobench` package: safe label decoding
(`unpickle`), the six tasks of the CSMoE study (`tasks`) and their samples (`reader`)."""
