"""Numba kernels shared by all mechanisms: counter-based randomness and event sampling."""
