"""The package's version, in a module of its own.

``api``, ``engine/checkpoint``, ``sweep`` and ``calibrate`` read it here without importing the
package's ``__init__`` (which imports ``api``). This module imports nothing of the package.

Owns ``__version__``, which manifests, checkpoints, sweeps and calibrations record. It must
stay in layer 0 (``tests/test_layers.py``). It is the one place the version is written: the
package's metadata reads it from here (``[tool.hatch.version]`` in ``pyproject.toml``).
"""

__version__ = "0.1.0"
