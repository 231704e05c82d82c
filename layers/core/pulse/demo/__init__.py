"""The demo organisation: a deterministic, plausible engineering org in the ingest format."""

from pulse.demo.generator import SCALES, Scale, generate, team_profiles

__all__ = ["SCALES", "Scale", "generate", "team_profiles"]
