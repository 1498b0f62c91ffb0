"""Mechanisms of the behaviour family."""
