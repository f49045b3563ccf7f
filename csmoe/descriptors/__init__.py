"""Descriptors stage: a climate and a land-cover descriptor for every patch of an index."""
