"""Benchmarks: `python -m bench` (or `make bench`) runs them and updates docs/PERFORMANCE.md.

Every figure is read against a floor measured in the same run, on the same machine, with
the same load generator, so that the ratios survive a change of machine.
"""
