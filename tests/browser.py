"""Headless Chromium for report tests (Debian's `chromium`; `.ci/run` installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000"]  # fmt: skip


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM of a page after its scripts ran, as Chromium renders it."""
    result = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def embedded_images(report: Path) -> list[str]:
    """Data URIs of every image a Snakemake report embeds (the file name is inside)."""
    return re.findall(r'"data_uri": "(data:image/[^"]+)"', report.read_text())


def images_that_load(report: Path, workdir: Path) -> tuple[int, int]:
    """(loaded, total) of the report's images, decoded by Chromium itself."""
    uris = embedded_images(report)
    workdir.mkdir(parents=True, exist_ok=True)
    page = workdir / "check_images.html"
    page.write_text(
        "<html><body><p id='result'>pending</p><script>"
        f"const uris = {json.dumps(uris)}; let loaded = 0, done = 0;"
        "for (const uri of uris) { const image = new Image();"
        " image.onload = () => { if (image.naturalWidth > 0) loaded++; finish(); };"
        " image.onerror = finish; image.src = uri; }"
        "function finish() { done++; if (done === uris.length)"
        " document.getElementById('result').textContent = `loaded ${loaded} of ${uris.length}`; }"
        "</script></body></html>"
    )
    dom = dump_dom(page, workdir / "chromium-profile")
    match = re.search(r"loaded (\d+) of (\d+)", dom)
    assert match, dom[-500:]
    return int(match.group(1)), int(match.group(2))
