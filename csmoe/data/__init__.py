"""Training data: shards written once per manifest, and a DDP-aware loader over them."""
