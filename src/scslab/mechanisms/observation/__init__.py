"""Mechanisms of the observation family."""
