"""The executive function with its layers fits Lambda's 250 MB unzipped limit (function + layers).

Builds ExecutiveFunction with ``sam build`` (which builds its Core, Analytics and Pandas layers
too, with Lambda's manylinux wheels), compiles them as ``make sam-build`` does
(``pulse.local.artifacts``: bytecode adds ~40 %) and adds up the unzipped bytes of the four
artefacts.
pandas + numpy are about 100 MiB of it; a second copy of numpy in the pandas layer, or a plotting
or statistics library, would not fit. Skipped, with the reason, where the SAM CLI is missing
(``make sam-validate`` installs it under ``.pulse/tools/sam``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pulse.local.artifacts import UNZIPPED_LIMIT_BYTES, compile_tree, tree_bytes

ROOT = Path(__file__).resolve().parents[2]
SAM = next((str(path) for path in (ROOT / ".pulse/tools/sam/bin/sam",) if path.exists()), shutil.which("sam"))
ARTEFACTS = ("ExecutiveFunction", "CoreLayer", "AnalyticsLayer", "PandasLayer")

pytestmark = [
    pytest.mark.sam,
    pytest.mark.skipif(SAM is None, reason="the SAM CLI is not installed (make sam-validate installs it)"),
]


def test_the_executive_function_and_its_layers_fit_in_250_mb(tmp_path):
    build = tmp_path / "build"
    completed = subprocess.run(
        [
            str(SAM),
            "build",
            "ExecutiveFunction",
            "--template",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build),
            "--cache-dir",
            str(ROOT / ".pulse" / "sam-size-cache"),
            "--cached",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    assert all(compile_tree(build / name) for name in ARTEFACTS)
    sizes = {name: tree_bytes(build / name) for name in ARTEFACTS}

    assert all(sizes.values()), sizes
    assert sum(sizes.values()) < UNZIPPED_LIMIT_BYTES, {
        name: f"{size / 2**20:.1f} MiB" for name, size in sizes.items()
    }
    # numpy ships once, in the analytics layer: the pandas layer must not bring its own copy.
    assert (build / "AnalyticsLayer/python/numpy").is_dir()
    assert (build / "PandasLayer/python/pandas").is_dir()
    assert not (build / "PandasLayer/python/numpy").exists()
