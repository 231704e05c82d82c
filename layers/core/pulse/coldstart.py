"""A function's initialisation without the cyclic garbage collector.

Importing FastAPI, SQLAlchemy, pydantic and Powertools and building an app's models and routes
allocates a few hundred thousand objects that live as long as the container, so the cyclic
collector runs again and again during a cold start and finds nothing to free: about 12% of the
import time of an analytics function (``bench.cold_start``). Every function imports this module
first (its own isort section, see pyproject.toml), which pauses the collector; ``settle()`` ends
the initialisation: it moves everything allocated so far out of the collector's reach for good
(``gc.freeze``: never scanned again, which also makes every later collection cheaper) and
resumes collecting.
"""

from __future__ import annotations

import gc

gc.disable()


def settle() -> None:
    """End of initialisation: freeze what it allocated and collect again from here on."""
    gc.freeze()
    gc.enable()
