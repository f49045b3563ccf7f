"""Pretraining of CSMoE / CSMAE on shards: one process, many processes (torchrun), resumable.

Imports torch, timm, numpy and safetensors only (no geo stack), so that it runs on
GPU machines that carry nothing else.
"""
