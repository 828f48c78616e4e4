"""Load a page in a headless Chromium and report what went wrong: console errors, uncaught
exceptions, images that failed to decode, requests for anything but ``data:`` URLs and the page
itself, and script dialogs (``alert``). Keeps a full-page PNG screenshot.

Drives the browser over the Chrome DevTools Protocol on ``--remote-debugging-pipe`` (the
browser reads commands on its fd 3 and writes replies and events on its fd 4, each message JSON
ending in a NUL byte), so it needs no websocket package and downloads nothing: it uses the
Chromium found on PATH (Debian: ``apt-get install chromium-headless-shell``).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome",
            "headless_shell")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--hide-scrollbars", "--remote-debugging-pipe",
         # No network on a test machine, and a report must need none: any host name fails.
         "--host-resolver-rules=MAP * ~NOTFOUND")
WIDTH, HEIGHT = 1280, 900                       # viewport [CSS pixels]
BROKEN_IMAGES = ("[...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                 ".map(i => i.id || i.alt || i.src.slice(0, 60))")


def find_browser() -> str | None:
    """Path of the first Chromium-family browser on PATH, or None."""
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


@dataclass
class PageCheck:
    """What loading one page showed."""
    url: str
    title: str = ""
    images: int = 0                             # <img> elements on the page
    broken_images: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)   # every URL the page asked for
    dialogs: list[str] = field(default_factory=list)    # alert/confirm/prompt messages

    @property
    def external_requests(self) -> list[str]:
        """Requests for anything other than ``data:`` URLs and the page itself."""
        return [u for u in self.requests if not u.startswith("data:") and u != self.url]

    def problems(self) -> list[str]:
        """One line per failure; empty when the page loaded cleanly."""
        return ([f"console: {m}" for m in self.console_errors]
                + [f"broken image: {m}" for m in self.broken_images]
                + [f"external request: {u}" for u in self.external_requests]
                + [f"dialog: {m}" for m in self.dialogs])


class BrowserError(RuntimeError):
    """The browser exited, timed out or refused a DevTools command."""


def _high_fd(fd: int) -> int:
    """A duplicate of ``fd`` numbered 10 or more (``fd`` itself is closed)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Chromium:
    """One headless browser process, driven over the DevTools pipe; use as a context manager
    (the process group is killed on exit, whatever happened)."""

    def __init__(self, executable: str, timeout_s: float = 20.0):
        self.timeout_s = timeout_s
        self._profile = tempfile.mkdtemp(prefix="simcore-chromium-")
        self._log = open(Path(self._profile) / "stderr.log", "w+b")  # a pipe could fill up
        cmd_read, self._cmd = os.pipe()         # we write commands, the browser reads fd 3
        self._events, event_write = os.pipe()   # the browser writes fd 4, we read
        # The browser's ends, moved above fd 9 so the shell's moves below cannot clash.
        cmd_read, event_write = (_high_fd(cmd_read), _high_fd(event_write))
        # bash (dash takes only one-digit fds) moves the two pipe ends onto fds 3 and 4, then
        # becomes the browser.
        script = f'exec "$@" 3<&{cmd_read} 4>&{event_write} {cmd_read}<&- {event_write}>&-'
        try:
            self._proc = subprocess.Popen(
                [shutil.which("bash") or "/bin/bash", "-c", script, "bash", executable, *FLAGS,
                 f"--user-data-dir={self._profile}", f"--window-size={WIDTH},{HEIGHT}",
                 "about:blank"],
                pass_fds=(cmd_read, event_write), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        finally:
            os.close(cmd_read)
            os.close(event_write)
        self._buffer = b""
        self._next_id = 0
        self._pending: list[dict] = []          # events read while waiting for a reply

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._send("Browser.close")
                self._proc.wait(timeout=5)
            except (BrowserError, OSError, subprocess.TimeoutExpired):
                pass
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=5)
        else:                                   # children left behind by the browser
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()
        for fd in (self._cmd, self._events):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    # --- protocol ------------------------------------------------------------------------------

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._cmd, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("timed out waiting for the browser")
            ready, _, _ = select.select([self._events], [], [], left)
            if ready:
                chunk = os.read(self._events, 1 << 20)
                if not chunk:
                    self._log.seek(0)
                    err = self._log.read().decode(errors="replace")[-2000:]
                    raise BrowserError(f"the browser exited: {err}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             deadline: float | None = None) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        deadline = deadline or time.monotonic() + self.timeout_s
        wanted = self._send(method, params, session)
        while True:
            message = self._read(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._pending.append(message)

    def events(self, deadline: float):
        """Events kept so far, then new ones as they come, until ``deadline``."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            yield self._read(deadline)

    # --- a page --------------------------------------------------------------------------------

    def check_page(self, path: Path, screenshot: Path | None = None) -> PageCheck:
        """Load ``path`` from its file:// URL in a fresh tab; what went wrong, and a full-page
        screenshot written to ``screenshot`` (PNG) when given."""
        url = path.resolve().as_uri()
        deadline = time.monotonic() + self.timeout_s
        target = self.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)
        session = self.call("Target.attachToTarget",
                            {"targetId": target["targetId"], "flatten": True},
                            deadline=deadline)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=session, deadline=deadline)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
                  session=session, deadline=deadline)
        self._pending.clear()                   # about:blank's events are not the page's
        check = PageCheck(url=url)
        self.call("Page.navigate", {"url": url}, session=session, deadline=deadline)
        for event in self.events(deadline):
            if event.get("sessionId") != session:
                continue
            if self._record(event, check, session, deadline):
                break
        result = self.call("Runtime.evaluate", {
            "expression": f"JSON.stringify({{title: document.title, "
                          f"images: document.images.length, broken: {BROKEN_IMAGES}}})",
            "returnByValue": True}, session=session, deadline=deadline)
        page = json.loads(result["result"]["value"])
        check.title, check.images, check.broken_images = (page["title"], page["images"],
                                                          page["broken"])
        if screenshot is not None:
            size = self.call("Page.getLayoutMetrics", session=session,
                             deadline=deadline)["cssContentSize"]
            shot = self.call("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                         "scale": 1}}, session=session, deadline=deadline)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        # Anything logged after the load event (late errors) still counts.
        while self._pending:
            event = self._pending.pop(0)
            if event.get("sessionId") == session:
                self._record(event, check, session, deadline)
        self.call("Target.closeTarget", {"targetId": target["targetId"]}, deadline=deadline)
        return check

    def _record(self, event: dict, check: PageCheck, session: str, deadline: float) -> bool:
        """Note what ``event`` says about the page; True once the page has loaded."""
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            check.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            args = params.get("args", [])
            check.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                 for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            check.console_errors.append(details.get("exception", {}).get("description")
                                        or details.get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            check.console_errors.append(f"{entry['text']} {entry.get('url', '')}".strip())
        elif method == "Page.javascriptDialogOpening":
            check.dialogs.append(params.get("message", ""))
            self.call("Page.handleJavaScriptDialog", {"accept": True}, session=session,
                      deadline=deadline)
        return method == "Page.loadEventFired"
