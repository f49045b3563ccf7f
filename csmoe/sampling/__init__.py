"""Sampling stage: pick a representative, diverse training set from described patches."""
