"""Headless Chromium driven over the DevTools protocol on a pipe: no websocket, no extra package.

For the Web UI check and the docs' screenshots. Needs Debian's `chromium` (apt-get install
chromium); `find_chromium()` returns None where it is missing.

    python -m devstack.browser URL OUT.png [--wait-text TEXT] [--width 1400 --height 800]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

INSTALL_HINT = "apt-get install chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
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
    """One headless browser with one page. Commands are synchronous, each with a deadline."""

    def __init__(
        self, executable: str | None = None, *, log_file: Path | None = None, width: int = 1400,
        height: int = 800,
    ) -> None:  # fmt: skip
        exe = executable or find_chromium()
        if exe is None:
            raise BrowserError(f"chromium not found: {INSTALL_HINT}")
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        log = open(log_file, "ab") if log_file else subprocess.DEVNULL

        def remap() -> None:  # in the child: its fd 3 reads commands, fd 4 writes answers
            high_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)  # first out of the way of 3 and 4
            high_w = fcntl.fcntl(resp_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        try:
            self._proc = subprocess.Popen(
                [exe, *FLAGS, f"--user-data-dir={self._profile}",
                 f"--window-size={width},{height}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=remap,
                pass_fds=(3, 4),
                start_new_session=True,
            )  # fmt: skip
        finally:
            os.close(cmd_r)
            os.close(resp_w)
            if log is not subprocess.DEVNULL:
                log.close()  # type: ignore[union-attr]
        self._next_id = 0
        self._buffer = b""
        self._session: str | None = None
        self._width, self._height = width, height
        try:
            targets = self.command("Target.getTargets")["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            self._session = self.command(
                "Target.attachToTarget", targetId=page["targetId"], flatten=True
            )["sessionId"]
            self.command("Page.enable")
            self.command("Runtime.enable")
            self.command(
                "Emulation.setDeviceMetricsOverride",
                width=width, height=height, deviceScaleFactor=1, mobile=False,
            )  # fmt: skip
        except BaseException:
            self.close()
            raise

    # -- protocol --

    def command(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self._session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self._session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._read(deadline, method):
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise BrowserError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply.get("result", {})
                    return result

    def _read(self, deadline: float, what: str) -> list[dict[str, Any]]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError(f"chromium did not answer {what} in time")
        ready, _, _ = select.select([self._resp_r], [], [], remaining)
        if not ready:
            raise BrowserError(f"chromium did not answer {what} in time")
        chunk = os.read(self._resp_r, 1 << 20)
        if not chunk:
            raise BrowserError(f"chromium exited (code {self._proc.poll()}) during {what}")
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        return [json.loads(m) for m in messages if m]

    # -- page --

    def navigate(self, url: str) -> None:
        self.command("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def text(self) -> str:
        return str(self.evaluate("document.body ? document.body.innerText : ''") or "")

    def html(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML") or "")

    def wait_for_text(self, needle: str, timeout: float = 30.0, settle: float = 0.5) -> str:
        """Poll the page's text until it contains `needle`; returns the text."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if needle in text:
                time.sleep(settle)  # let the page finish painting around it
                return self.text()
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"{needle!r} not on the page after {timeout:.0f}s:\n{text[:2000]}"
                )
            time.sleep(0.25)

    def wait_for_js(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"still falsy after {timeout:.0f}s: {expression}")
            time.sleep(0.25)

    def frame_texts(self) -> list[str]:
        """The Web UI renders markdown (summary, details, current details) in iframes whose
        `src` carries the markdown: their decoded URLs."""
        found = self.evaluate(
            "[...document.querySelectorAll('iframe')].map(f => decodeURIComponent(f.src))"
        )
        return [str(x) for x in found or []]

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = int(self.evaluate("document.documentElement.scrollHeight") or self._height)
            params["clip"] = {"x": 0, "y": 0, "width": self._width, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.command("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    # -- lifecycle --

    def close(self) -> None:
        with contextlib.suppress(Exception):
            os.write(self._cmd_w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, 9)
            self._proc.wait(timeout=5)
        for fd in (self._cmd_w, self._resp_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

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
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
