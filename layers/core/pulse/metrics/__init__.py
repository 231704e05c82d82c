"""Metric definitions as SQL over indexed columns; each definition sits next to its query."""
