"""Downstream evaluation of frozen encoders: classification, segmentation, retrieval, cost.

Imports torch, numpy and scikit-learn only (no geo stack), like the training code.
"""
