"""A tiny Chrome DevTools client over --remote-debugging-pipe (no websocket library needed).

Chromium reads JSON commands from fd 3 and writes replies and events to fd 4, each message ending in NUL.
inspect_page() opens a page in headless Chromium with the page's own Content-Security-Policy bypassed (so a
stray fetch is sent and seen, not silently blocked), waits for the load event, and returns every URL the page
requested and, for every <img>, whether it loaded and its natural width.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--remote-debugging-pipe"]
IMAGE_CHECK = ("JSON.stringify(Array.from(document.images, i => ({complete: i.complete, width: i.naturalWidth, "
               "alt: i.alt})))")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class DevToolsPipe:
    """One headless Chromium process driven through its debugging pipe."""

    def __init__(self, executable: str, profile: Path, timeout: float = 60.0) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # bash (dash cannot name fds above 9) puts our pipe ends on the fds Chromium expects: 3 in, 4 out.
        script = f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}'
        self.process = subprocess.Popen(
            ["bash", "-c", script, "bash", executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.deadline = time.monotonic() + timeout
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._next_id = 0

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            ready, _, _ = select.select([self._from_chrome], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its debugging pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result; events read meanwhile are kept in self.events."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._read_message())

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def inspect_page(executable: str, page: Path, profile: Path, screenshot: Path | None = None) -> dict[str, Any]:
    """{"requests": [urls, cut to 80 characters], "images": [{complete, width, alt}]} of `page` in headless Chromium.

    The page's own URL is among the requests, and so is every data: URL (Chromium reports those too).
    """
    chrome = DevToolsPipe(executable, profile)
    try:
        target = chrome.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = chrome.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Network.enable", "Page.enable"):
            chrome.call(method, session=session)
        chrome.call("Page.setBypassCSP", {"enabled": True}, session=session)
        chrome.events.clear()
        chrome.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        chrome.wait_for("Page.loadEventFired")
        value = chrome.call("Runtime.evaluate", {"expression": IMAGE_CHECK, "returnByValue": True},
                            session=session)["result"]["value"]
        if screenshot is not None:
            shot = chrome.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                               session=session)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        requests = [e["params"]["request"]["url"][:80] for e in chrome.events
                    if e.get("method") == "Network.requestWillBeSent"]
        return {"requests": requests, "images": json.loads(value)}
    finally:
        chrome.close()
