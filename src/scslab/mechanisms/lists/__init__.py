"""Mechanisms of the lists family."""
