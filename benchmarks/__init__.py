"""scslab's benchmarks: the reference model in scslab, Mesa and Starsim, measured side by side.

``python -m benchmarks`` reproduces ``benchmarks/RESULTS.md`` (see ``benchmarks/README.md``).
"""
