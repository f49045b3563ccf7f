"""Benchmark commands (``python -m csmoe bench <name>``): each prints one JSON object."""
