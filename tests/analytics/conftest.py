"""The analytics functions are pure: their tests need no database or Redis clean-up."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Overrides the suite-wide table truncation, which these tests never need."""
