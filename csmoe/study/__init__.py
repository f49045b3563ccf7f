"""The study's summary: one comparison table of every evaluated encoder, and figures."""
