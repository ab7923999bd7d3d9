"""pamiq-console's performance suite: ``python -m benchmarks`` prints the table.

See ``benchmarks/README.md`` for the figures, targets and how results are kept.
"""
