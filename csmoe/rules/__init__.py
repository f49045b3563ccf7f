"""What the workflow's rules look up in the config: one module per stage.

Each function takes the validated config (and, where a rule has them, its wildcards,
input, threads or resources) and returns file paths or the command-line arguments of
`python -m csmoe <stage>`. Plain Python, imported by the rule files and unit-tested
without Snakemake; nothing here reads or writes files.
"""
