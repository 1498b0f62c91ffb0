"""Mechanisms of the reporting family."""
