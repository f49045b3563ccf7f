"""A seeded mutation fuzzer for every reader of the project (`harness`, `targets`,
`mutations`); `tests/test_fuzz.py` runs it."""
