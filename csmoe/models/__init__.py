"""CSMoE: the cross-sensor masked autoencoder (CSMAE) with Soft Mixture-of-Experts layers."""

from csmoe.models.export import load_encoder
from csmoe.models.presets import PRESETS, create_model

__all__ = ["PRESETS", "create_model", "load_encoder"]
