"""Mechanisms of the consequences family."""
