"""The package's version, in a module of its own.

``api`` reads it here without importing the package's ``__init__`` (which imports ``api``). This
module imports nothing of the package.

Owns ``__version__``, which manifests, checkpoints, sweeps and calibrations record. It must
stay in layer 0 (``tests/test_layers.py``). ``pyproject.toml`` states the same number on its own.
"""

__version__ = "0.1.0"
