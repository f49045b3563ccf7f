"""One module per command of ``python -m csmoe``: its arguments (``add_arguments``) and
what it runs (``run``), argument handling only; the work is in the stage's package.
`csmoe.cli` imports a command's module only when that command is chosen."""
