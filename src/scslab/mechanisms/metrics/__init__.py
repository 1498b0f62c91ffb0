"""Mechanisms of the metrics family."""
