"""Numba kernels shared by all mechanisms: the compiled building blocks below the population.

Counter-based randomness (``rng``), event sampling (``sampling``, ``poisson``, ``hazard``),
compiled records (``structs``), the kernel cache and compile options (``cache``, ``jit``,
``package_code``), calls by address (``compiled_once``), sorts, threads and memory hints. Imports
nothing of the package above ``errors`` (``docs/architecture.md``, layer 1).

Owns nothing but the package's name: each building block is a module of its own, which knows
no mechanism. No module here may import the population, the catalogue, the engine or a mechanism
(``tests/test_layers.py``).
"""
