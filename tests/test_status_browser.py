"""The status page in a real browser: Debian's headless Chromium, driven by chromedriver.

A session appears, moves from dialling to the lobby and ends with Sega's cause, while the
test watches the page update itself over server-sent events and takes screenshots.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from twisted.internet import defer
from twisted.internet.threads import deferToThread
from twisted.trial import unittest

from dcsim.causes import Cause
from dcsim.pcap import LinkType, PcapWriter
from dcsim.status import SessionKind, State
from tests.peers import require_program
from tests.status_support import ServedPage

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,800",
)


def start_chromium(chromium: str, chromedriver: str, profile: str):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(chromedriver))


def text_of(driver, css: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


@pytest.mark.slow
@pytest.mark.interop
class BrowserTests(unittest.TestCase):
    timeout = 120

    @pytest.fixture(autouse=True)
    def _paths(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    @defer.inlineCallbacks
    def setUp(self):
        chromium = require_program("chromium", "chromium")
        chromedriver = require_program("chromedriver", "chromium-driver")
        self.served = ServedPage(interval=0.05)
        self.addCleanup(self.served.close)
        profile = tempfile.TemporaryDirectory(prefix="dcsim-chromium-")
        self.addCleanup(profile.cleanup)
        self.driver = yield deferToThread(start_chromium, chromium, chromedriver, profile.name)
        self.addCleanup(deferToThread, self.driver.quit)

    def until(self, predicate, timeout: float = 15.0):
        """Wait, in a thread so the reactor keeps serving the page, for *predicate*."""
        return deferToThread(WebDriverWait(self.driver, timeout, 0.05).until, predicate)

    @defer.inlineCallbacks
    def screenshot(self, name: str):
        path = self.tmp_path / name
        saved = yield deferToThread(self.driver.save_screenshot, str(path))
        self.assertTrue(saved)
        data = path.read_bytes()
        self.assertTrue(data.startswith(PNG_SIGNATURE), f"{path} is not a PNG")
        self.assertGreater(len(data), 1000)
        return path

    @defer.inlineCallbacks
    def test_a_session_appears_changes_state_and_disappears(self):
        registry = self.served.registry
        yield deferToThread(self.driver.get, self.served.url)
        yield self.until(lambda d: text_of(d, "#connection") == "live")
        self.assertEqual(text_of(self.driver, "#sessions tbody"), "No live sessions.")
        self.assertEqual(self.driver.title, "dcsim status")

        capture = self.tmp_path / "call.pcap"
        with capture.open("wb") as sink:
            PcapWriter(sink, LinkType.PPP_WITH_DIR).write(1.0, b"\xff\x03\xc0\x21", 0)
        call = registry.open_session(SessionKind.MODEM_CALL, "127.0.0.1:50123", pcap=capture)
        call.dialling("0,0570-01-1234")
        row = f"#session-{call.id}"
        yield self.until(lambda d: "dialling 0,0570-01-1234" in text_of(d, f"{row} .state"))
        self.assertEqual(text_of(self.driver, f"{row} .kind"), "modem call")
        self.assertEqual(text_of(self.driver, "#count-live"), "1")

        call.set_state(State.TRAINING)
        yield self.until(lambda d: text_of(d, f"{row} .state") == "training")
        call.set_state(State.IPCP)
        call.online("198.51.100.130")
        call.dns_query("game01.dricas.ne.jp", "A", ["192.0.2.20"])
        call.licence(True, "account 1234")
        call.logged_in(42000001, "RICO")
        call.in_lobby("Lobby 3")
        call.add_bytes(received=2048, sent=512)
        registry.dns_query("127.0.0.1", "www.example.jp", "A", rcode="REFUSED")
        yield self.until(lambda d: text_of(d, f"{row} .state") == "lobby Lobby 3")
        cells = {
            name: text_of(self.driver, f"{row} .{name}")
            for name in ("address", "dns", "licence", "login", "received", "sent")
        }
        self.assertEqual(
            cells,
            {
                "address": "198.51.100.130",
                "dns": "game01.dricas.ne.jp A → 192.0.2.20",
                "licence": "accepted",
                "login": "GC 42000001 RICO",
                "received": "2.0 KiB",
                "sent": "512 B",
            },
        )
        link = self.driver.find_element(By.CSS_SELECTOR, f"{row} .capture a")
        self.assertTrue(link.get_attribute("href").endswith(f"/pcap/{call.id}"))
        dns_items = text_of(self.driver, "#dns")
        self.assertIn("www.example.jp A → REFUSED", dns_items)
        self.assertIn(f"#{call.id} game01.dricas.ne.jp A → 192.0.2.20", dns_items)
        yield self.until(lambda d: text_of(d, f"{row} .elapsed") >= "00:01")
        yield self.screenshot("status-live.png")

        call.end(Cause.AUTOMATIC_DISCONNECT, "no input for 15 minutes")
        yield self.until(lambda d: not d.find_elements(By.CSS_SELECTOR, row))
        yield self.until(lambda d: text_of(d, "#count-live") == "0")
        self.assertEqual(text_of(self.driver, "#sessions tbody"), "No live sessions.")
        failures = text_of(self.driver, "#failures")
        self.assertIn("8 · automatic disconnect", failures)
        self.assertIn("no input for 15 minutes (during lobby)", failures)
        self.assertEqual(text_of(self.driver, "#count-failures"), "1")
        self.assertEqual(text_of(self.driver, "#count-total"), "1")
        yield self.screenshot("status-ended.png")

        logs = yield deferToThread(self.driver.get_log, "browser")
        self.assertEqual([entry for entry in logs if entry["level"] == "SEVERE"], [])

    @defer.inlineCallbacks
    def test_the_page_reconnects_and_resyncs_after_the_stream_drops(self):
        registry = self.served.registry
        yield deferToThread(self.driver.get, self.served.url)
        yield self.until(lambda d: text_of(d, "#connection") == "live")
        self.served.page.events.close()  # as when dcsim restarts
        session = registry.open_session(SessionKind.DCNET_PPP, "127.0.0.1:7654")
        yield self.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#session-{session.id}"))
        self.assertEqual(text_of(self.driver, f"#session-{session.id} .state"), "PPP LCP")
