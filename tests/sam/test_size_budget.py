"""The executive function with its layers fits Lambda's 250 MB unzipped limit (function + layers).

Builds ExecutiveFunction with ``sam build`` (which builds its Core, Analytics and Pandas layers
too, with Lambda's manylinux wheels) and adds up the unzipped bytes of the four artefacts.
pandas + numpy are about 110 MB of it; a second copy of numpy in the pandas layer, or a plotting
or statistics library, would not fit. Skipped, with the reason, where the SAM CLI is missing
(``make sam-validate`` installs it under ``.pulse/tools/sam``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM = next((str(path) for path in (ROOT / ".pulse/tools/sam/bin/sam",) if path.exists()), shutil.which("sam"))
LIMIT_BYTES = 250 * 1024 * 1024  # Lambda: 262,144,000 bytes unzipped, function and layers together
ARTEFACTS = ("ExecutiveFunction", "CoreLayer", "AnalyticsLayer", "PandasLayer")

pytestmark = [
    pytest.mark.sam,
    pytest.mark.skipif(SAM is None, reason="the SAM CLI is not installed (make sam-validate installs it)"),
]


def unzipped_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


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

    sizes = {name: unzipped_bytes(build / name) for name in ARTEFACTS}

    assert all(sizes.values()), sizes
    assert sum(sizes.values()) < LIMIT_BYTES, {
        name: f"{size / 2**20:.1f} MiB" for name, size in sizes.items()
    }
    # numpy ships once, in the analytics layer: the pandas layer must not bring its own copy.
    assert (build / "AnalyticsLayer/python/numpy").is_dir()
    assert (build / "PandasLayer/python/pandas").is_dir()
    assert not (build / "PandasLayer/python/numpy").exists()
