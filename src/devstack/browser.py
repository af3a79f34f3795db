"""Headless Chromium through Playwright, on the system's chromium (no `playwright install`).

For the Web UI check and the docs' screenshots. Needs Debian's `chromium` (apt-get install
chromium); `find_chromium()` returns None where it is missing.

    python -m devstack.browser URL OUT.png [--wait-text TEXT] [--width 1400 --height 800]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from program_setup.extras import exit_for_missing_extra

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright
except ModuleNotFoundError as err:  # the test extra, not the dev stack's
    exit_for_missing_extra(err, "test", "python -m devstack.browser")

INSTALL_HINT = "apt-get install chromium"
# Nothing reaches out on a closed network. Playwright passes six of these itself; listed so they
# hold whatever its defaults become. (--no-sandbox: chromium will not start as root without it.)
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


class HeadlessChromium:
    """One headless browser with one page; Playwright's sync API, so not inside an event loop
    (the tests call it through asyncio.to_thread)."""

    def __init__(
        self, executable: str | None = None, *, log_file: Path | None = None, width: int = 1400,
        height: int = 800,
    ) -> None:  # fmt: skip
        exe = executable or find_chromium()
        if exe is None:
            raise BrowserError(f"chromium not found: {INSTALL_HINT}")
        log_flags = ("--enable-logging", f"--log-file={log_file}") if log_file else ()
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=exe, args=[*FLAGS, *log_flags]
            )
            self._page = self._browser.new_page(viewport={"width": width, "height": height})
        except BaseException:
            self._playwright.stop()
            raise

    def navigate(self, url: str) -> None:
        self._page.goto(url)

    def evaluate(self, expression: str) -> Any:
        return self._page.evaluate(expression)

    def text(self) -> str:
        return str(self.evaluate("document.body ? document.body.innerText : ''") or "")

    def wait_for_text(self, needle: str, timeout: float = 30.0, settle: float = 0.5) -> str:
        """Wait until the page's text contains `needle`; returns the text."""
        try:
            self._page.wait_for_function(
                "needle => (document.body ? document.body.innerText : '').includes(needle)",
                arg=needle, timeout=timeout * 1000, polling=250,
            )  # fmt: skip
        except PlaywrightTimeoutError:
            raise BrowserError(
                f"{needle!r} not on the page after {timeout:.0f}s:\n{self.text()[:2000]}"
            ) from None
        self._page.wait_for_timeout(settle * 1000)  # let the page finish painting around it
        return self.text()

    def wait_for_js(self, expression: str, timeout: float = 30.0) -> Any:
        """Wait until a JavaScript expression is truthy; returns its value."""
        try:
            handle = self._page.wait_for_function(expression, timeout=timeout * 1000, polling=250)
        except PlaywrightTimeoutError:
            raise BrowserError(f"still falsy after {timeout:.0f}s: {expression}") from None
        return handle.json_value()

    def frame_texts(self) -> list[str]:
        """The Web UI renders markdown (summary, details, current details) in iframes whose
        `src` carries the markdown: their decoded URLs."""
        found = self.evaluate(
            "[...document.querySelectorAll('iframe')].map(f => decodeURIComponent(f.src))"
        )
        return [str(x) for x in found or []]

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._page.screenshot(path=path, full_page=full_page)
        return path

    def close(self) -> None:
        try:
            self._browser.close()
        finally:
            self._playwright.stop()

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.browser", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--wait-text", default="", help="Wait until the page shows this text")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args(argv)
    try:
        with HeadlessChromium(width=args.width, height=args.height) as browser:
            browser.navigate(args.url)
            browser.wait_for_text(args.wait_text, args.timeout)
            browser.screenshot(args.out, full_page=args.full_page)
    except BrowserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except PlaywrightError as err:  # e.g. "Page.goto: net::ERR_CONNECTION_REFUSED at URL"
        print(f"error: {err.message.splitlines()[0]}", file=sys.stderr)
        return 1
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
