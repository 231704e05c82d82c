"""Pulse: the core layer shared by every function (config, db, cache, auth, models, metrics)."""
