"""The package's version, in a module of its own.

``api`` reads it here without importing the package's ``__init__`` (which imports ``api``). This
module imports nothing of the package.
"""

__version__ = "0.1.0"
