"""Mechanisms of the surveillance family: cameras and face search, modelled by their error rates."""
