"""Synthetic data generators: demo archives and benchmark rasters at real locations."""
