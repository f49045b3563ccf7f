"""CSMoE: the cross-sensor masked autoencoder (CSMAE) with Soft Mixture-of-Experts layers.

Importing this package registers every preset with timm (`csmoe.models.timm_models`).
"""

from csmoe.models import timm_models
from csmoe.models.export import load_encoder
from csmoe.models.presets import PRESETS, create_model

__all__ = ["PRESETS", "create_model", "load_encoder", "timm_models"]
