"""Peer-framework implementations (Mesa 3, Starsim 3) of the scslab reference model."""
