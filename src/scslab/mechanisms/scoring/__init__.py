"""Mechanisms of the scoring family."""
