"""numpy ships in its own Lambda layer: nothing outside ``pulse.analytics`` may pull it in."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import importlib, pkgutil, sys
import pulse, pulse.analytics
for module in pkgutil.walk_packages(pulse.__path__, "pulse."):
    if not module.name.startswith(("pulse.analytics.", "pulse.migrations")):
        importlib.import_module(module.name)
print(sorted({name.split(".")[0] for name in sys.modules} & {"numpy", "pandas", "scipy"}))
"""


def test_no_module_outside_analytics_imports_numpy():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=120
    )

    assert out.stdout.strip() == "[]"
