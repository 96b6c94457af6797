"""Headless Chromium over the DevTools protocol: open a page, read what it shows, screenshot it.

Debian's ``chromium`` package is enough (``deploy/bootstrap.sh`` installs it); nothing is
downloaded. The protocol is spoken directly over ``websockets``, so request headers (an API key)
can be set, every request the page makes is seen, and the browser version does not matter.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")


class BrowserError(RuntimeError):
    """Chromium is missing, did not start, or a DevTools command failed."""


def find_chromium() -> str:
    """The path of a Chromium executable, or a BrowserError saying how to install one."""
    for name in EXECUTABLES:
        if found := shutil.which(name):
            return found
    raise BrowserError("Chromium not found: run deploy/bootstrap.sh or `apt-get install chromium`")


class HeadlessChromium:
    """One headless Chromium process with one page; use as ``async with HeadlessChromium() as b``.

    Every call may raise BrowserError; each waits at most ``timeout`` seconds.
    """

    def __init__(self, *, width: int = 1200, height: int = 900, timeout: float = 30.0) -> None:
        self.width, self.height, self.timeout = width, height, timeout
        self.requests: list[str] = []  # every URL the page asked for, in order
        self.status: int | None = None  # HTTP status of the last document loaded
        self._ids = iter(range(1, 1 << 62))
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self._profile = Path(tempfile.mkdtemp(prefix="landsync-chromium-"))
        self._process: asyncio.subprocess.Process | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _start(self) -> None:
        argv = [find_chromium(), "--headless", "--disable-gpu", "--disable-dev-shm-usage"]
        argv += ["--no-first-run", "--no-default-browser-check", "--hide-scrollbars"]
        argv += ["--remote-debugging-port=0", f"--user-data-dir={self._profile}", "about:blank"]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        self._process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        port = await self._devtools_port()
        async with httpx.AsyncClient(trust_env=False, timeout=self.timeout) as client:
            targets = (await client.get(f"http://127.0.0.1:{port}/json/list")).json()
        page = next((t for t in targets if t.get("type") == "page"), None)
        if page is None:
            raise BrowserError("Chromium started without a page")
        self._ws = await connect(
            page["webSocketDebuggerUrl"], max_size=None, proxy=None, open_timeout=self.timeout
        )
        self._reader = asyncio.create_task(self._read(), name="chromium-devtools")
        await self.send("Page.enable")
        await self.send("Network.enable")
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )

    async def _devtools_port(self) -> int:
        # Chromium picks a free port and writes it to this file once DevTools listens.
        marker = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.returncode is not None:
                raise BrowserError(f"Chromium exited with status {self._process.returncode}")
            with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
                return int(marker.read_text().splitlines()[0])
            await asyncio.sleep(0.05)
        raise BrowserError(f"Chromium's DevTools did not start within {self.timeout}s")

    async def close(self) -> None:
        """Stop the browser and remove its profile."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:  # noqa: ANN401 - a JSON value (the DevTools protocol)
        """Run one DevTools command and return its result."""
        if self._ws is None:
            raise BrowserError("the browser is not started")
        message_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise BrowserError(f"{method} got no answer within {self.timeout}s") from None
        finally:
            self._pending.pop(message_id, None)

    def _expect(self, event: str) -> asyncio.Future[dict[str, Any]]:
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(event, []).append(future)
        return future

    async def _read(self) -> None:
        if self._ws is None:
            return
        try:
            async for raw in self._ws:
                self._dispatch(json.loads(raw))
        except ConnectionClosed:
            pass
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BrowserError("Chromium closed the DevTools connection"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            future = self._pending.get(message["id"])
            if future is None or future.done():
                return
            if "error" in message:
                future.set_exception(BrowserError(f"DevTools error: {message['error']}"))
            else:
                future.set_result(message.get("result", {}))
            return
        method, params = message.get("method", ""), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Network.responseReceived" and params.get("type") == "Document":
            self.status = params["response"]["status"]
        for future in self._waiters.pop(method, []):
            if not future.done():
                future.set_result(params)

    async def open(self, url: str, headers: Mapping[str, str] | None = None) -> int | None:
        """Load ``url`` (sending ``headers`` with every request) and return its HTTP status."""
        await self.send("Network.setExtraHTTPHeaders", headers=dict(headers or {}))
        self.status = None
        loaded = self._expect("Page.loadEventFired")
        navigated = await self.send("Page.navigate", url=url)
        if navigated.get("errorText"):
            raise BrowserError(f"could not load {url}: {navigated['errorText']}")
        try:
            await asyncio.wait_for(loaded, self.timeout)
        except TimeoutError:
            raise BrowserError(f"{url} did not finish loading within {self.timeout}s") from None
        return self.status

    async def evaluate(self, expression: str) -> Any:  # noqa: ANN401 - a JSON value (the DevTools protocol)
        """The value of a JavaScript expression in the page."""
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def text(self) -> str:
        """What a person reads on the page: ``document.body.innerText``."""
        return str(await self.evaluate("document.body.innerText"))

    async def screenshot(self) -> bytes:
        """A PNG of the whole page, at the browser's width."""
        metrics = await self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": self.width, "height": size["height"], "scale": 1}
        shot = await self.send(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        return base64.b64decode(shot["data"])


async def render_png(html: str, *, width: int = 1200) -> bytes:
    """A screenshot of an HTML document, loaded from a file so nothing else is fetched."""
    with tempfile.TemporaryDirectory(prefix="landsync-page-") as folder:
        page = Path(folder) / "page.html"
        page.write_text(html, encoding="utf-8")
        async with HeadlessChromium(width=width) as browser:
            await browser.open(page.as_uri())
            return await browser.screenshot()
