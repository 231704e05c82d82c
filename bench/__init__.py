"""Benchmarks: ``make bench-cold-start``, ``make bench-dora``, ``make bench-seed-large`` (see README)."""
