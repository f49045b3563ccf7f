"""csmoe: descriptor-driven Sentinel-1/2 pretraining sets and the CSMoE foundation model."""

__version__ = "0.1.0"
