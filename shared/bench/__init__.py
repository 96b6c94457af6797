"""Benchmarks that measure LandSync against the raw ceiling of the same machine, in the same run."""
