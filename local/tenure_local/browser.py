"""The one way local tooling and tests drive headless Chromium (Debian's, through Playwright).

Playwright cannot download its own browsers here, so every launch goes through
`chromium_path()` and the same flags; pages only ever load local files."""

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING = "no chromium found (apt-get install chromium, or set TENURE_CHROMIUM)"


class ChromiumMissingError(RuntimeError):
    """No Chromium on this machine: the caller decides whether that is fatal."""


def chromium_path() -> str | None:
    """TENURE_CHROMIUM, else the distribution's chromium on PATH."""
    chosen = os.environ.get("TENURE_CHROMIUM")
    if chosen:
        return chosen
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """A launched headless Chromium (a Playwright Browser), closed on the way out."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise ChromiumMissingError(MISSING)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def local_only(route: Any) -> None:
    """A Playwright route handler that lets file: URLs through and aborts everything else."""
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


def screenshot_files(
    pages: Sequence[tuple[Path, Path]], width: int, height: int = 900
) -> list[Path]:
    """Open each (html, png) pair's page with the network cut off and save a full-page PNG."""
    pngs = []
    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.route("**/*", local_only)
        for html, png in pages:
            png.parent.mkdir(parents=True, exist_ok=True)
            page.goto(html.resolve().as_uri())
            page.screenshot(path=str(png), full_page=True)
            pngs.append(png)
    return pngs
