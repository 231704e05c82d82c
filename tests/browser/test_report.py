"""The executive report in a real browser: headless Chromium screenshots the page, and the test
reads the pixels (a small PNG decoder, no imaging library) to check the charts were drawn.

Skipped, with the reason, where no Chromium is installed (``.ci/run`` installs Debian's).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import uuid
import zlib
from collections import Counter
from pathlib import Path

import pytest

from tests.metrics.test_executive import JANUARY_5, load, weekly_deployments

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")

# #dd6b20 (svg.BAND_COLOUR) at fill-opacity 0.3 over white; #1f4e79 (svg.HISTORY_COLOUR).
BAND80_ON_WHITE = (245, 211, 188)
HISTORY = (31, 78, 121)


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + predictor) & 0xFF
        pixels.extend(tuple(line[i : i + 3]) for i in range(0, stride, channels))  # type: ignore[misc]
        previous = line
    return width, height, pixels


def near(pixel: tuple[int, int, int], colour: tuple[int, int, int], tolerance: int) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def screenshot(page: Path, target: Path) -> bytes:
    assert CHROMIUM is not None
    completed = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1200,1200",
            f"--screenshot={target}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert target.exists(), completed.stderr[-2000:]
    return target.read_bytes()


def test_the_report_renders_its_cards_charts_and_forecast_bands(gateway, auth_headers, tmp_path):
    # 12 complete weeks of zigzagging deployments: the deployments sparkline has a wide forecast band.
    load(weekly_deployments([2, 6, 3, 7, 4, 8, 5, 9, 6, 10, 7, 11], JANUARY_5))
    response = gateway.request(
        "GET",
        "/api/v1/dashboards/executive/report",
        query=[("start_date", "2026-01-05"), ("end_date", "2026-03-29")],
        headers=auth_headers("admin", (), fam=uuid.uuid4().hex),
    )
    assert response.status == 200, response.text
    page = tmp_path / "report.html"
    page.write_bytes(response.body)

    width, height, pixels = decode_png(screenshot(page, tmp_path / "report.png"))

    assert (width, height) == (1200, 1200)
    colours = Counter(pixels)
    white = colours[(255, 255, 255)]
    # Not blank: text, card borders and charts put many pixels off white, in many colours.
    assert white < 0.97 * len(pixels) and len(colours) > 50
    # The SVG charts were drawn: the forecast's 80% band and the history line are on screen.
    band = sum(count for colour, count in colours.items() if near(colour, BAND80_ON_WHITE, 6))
    line = sum(count for colour, count in colours.items() if near(colour, HISTORY, 40))
    assert band > 200, f"{band} band pixels"
    assert line > 50, f"{line} history-line pixels"
