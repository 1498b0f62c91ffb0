"""Errors the user sees, below every layer so that any layer may raise them.

``ScenarioError`` is raised wherever a scenario cannot be run: by scenario files (``scenario``) and
by the engine when mechanisms do not fit together (``engine.simulation``). It lives here, not in
``scenario``, so that the engine raises it without importing the scenario module. This module
imports nothing of the package.

Owns ``ScenarioError`` only. It checks no scenario itself (the scenario module and the engine
do), and it must stay in layer 0 (``tests/test_layers.py``) so that every layer may import it.
"""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message is one line meant for the user."""
