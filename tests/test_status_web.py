"""The status page's HTTP side: snapshot, server-sent events, captures, host check."""

from __future__ import annotations

import json
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer, reactor, task
from twisted.trial import unittest
from twisted.web import resource, server
from twisted.web.test.requesthelper import DummyRequest

from dcsim.address import Listen
from dcsim.causes import Cause
from dcsim.cli import Failed, UsageError
from dcsim.pcap import LinkType, PcapWriter
from dcsim.status import SessionKind, SessionRegistry, State, encode
from dcsim.status.web import EventStream, StatusPage, _message, listen_status
from tests.status_support import ServedPage, http_get, open_events


class PageTests(unittest.TestCase):
    @pytest.fixture(autouse=True)
    def _paths(self, tmp_path):
        self.tmp_path = tmp_path

    def setUp(self) -> None:
        self.served = ServedPage(interval=0.01)
        self.addCleanup(self.served.close)
        self.registry = self.served.registry
        self.port = self.served.port_number

    def get(self, path: str, host: str = "127.0.0.1"):
        return http_get(self.port, path, host)

    @defer.inlineCallbacks
    def test_the_page_and_its_assets_load_from_here_only(self):
        page = yield self.get("/")
        self.assertEqual(page.status, 200)
        self.assertIn(b"<title>dcsim status</title>", page.body)
        self.assertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        csp = page.headers["content-security-policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn(b"http://", page.body.replace(b"http://www.w3.org", b""))
        script = yield self.get("/status.js")
        self.assertEqual(script.status, 200)
        self.assertIn(b'new EventSource("api/events")', script.body)
        self.assertNotIn(b"innerHTML", script.body)
        style = yield self.get("/status.css")
        self.assertEqual(style.headers["content-type"], "text/css; charset=utf-8")
        missing = yield self.get("/status.js/more")
        self.assertEqual(missing.status, 404)

    @defer.inlineCallbacks
    def test_the_snapshot_is_the_registry_as_json(self):
        call = self.registry.open_session(SessionKind.MODEM_CALL, "127.0.0.1:41000")
        call.dialling("0570-01-1234")
        ppp = self.registry.open_session(SessionKind.DCNET_PPP, "127.0.0.1:41001")
        ppp.online("198.51.100.130")
        ppp.dns_query("game01.dricas.ne.jp", "A", ["192.0.2.20"])
        ppp.licence(False, "unknown account")
        ppp.logged_in(42000001, "RICO")
        ppp.add_bytes(received=100, sent=50)
        gone = self.registry.open_session(SessionKind.DCNET_ETHERNET, "127.0.0.1:41002")
        gone.end(Cause.SERVER_DOWN, "login server 192.0.2.20:9100 refused")
        response = yield self.get("/api/snapshot")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.headers["content-type"], "application/json")
        snapshot = json.loads(response.body)
        self.assertEqual(
            snapshot["counts"],
            {"now": snapshot["now"], "live": 2, "total": 3, "failures": 1, "dns": 1},
        )
        first, second = snapshot["live"]
        self.assertEqual(
            (first["kind"], first["state"], first["state_label"], first["detail"]),
            ("modem", "dialling", "dialling", "0570-01-1234"),
        )
        self.assertEqual(second["address"], "198.51.100.130")
        self.assertEqual(second["dns"][0]["answers"], ["192.0.2.20"])
        self.assertEqual(second["licence"], {"accepted": False, "detail": "unknown account"})
        self.assertEqual(second["login"], {"guild_card": 42000001, "name": "RICO"})
        self.assertEqual((second["received"], second["sent"], second["pcap"]), (100, 50, False))
        [failure] = snapshot["failures"]
        self.assertEqual(
            failure["cause"],
            {"code": 4, "name": "SERVER_DOWN", "text": "the server is down"},
        )
        self.assertEqual(failure["state"], "online")
        self.assertEqual(snapshot["history"][0]["id"], gone.id)
        self.assertEqual(snapshot["limits"]["recent_dns"], 50)

    @defer.inlineCallbacks
    def test_events_stream_a_session_from_open_to_end(self):
        stream = yield open_events(self.port)
        first = yield stream.next_event()
        self.assertIn(b"text/event-stream", stream.headers)
        self.assertEqual(first.name, "snapshot")
        self.assertEqual(json.loads(first.data)["live"], [])

        session = self.registry.open_session(SessionKind.DCNET_PPP, "127.0.0.1:42000")
        opened = yield stream.next_event()
        self.assertEqual(opened.name, "session")
        self.assertEqual(json.loads(opened.data)["state"], "lcp")
        counts = yield stream.next_event()
        self.assertEqual(counts.name, "counts")
        self.assertEqual(json.loads(counts.data)["live"], 1)

        session.online("198.51.100.130")
        changed = yield stream.next_event()
        self.assertEqual(json.loads(changed.data)["detail"], "198.51.100.130")
        yield stream.next_event()  # counts

        self.registry.dns_query("198.51.100.130", "game01.dricas.ne.jp", "A", ["192.0.2.20"])
        names = []
        for _ in range(3):
            event = yield stream.next_event()
            names.append(event.name)
        self.assertEqual(sorted(names), ["counts", "dns", "session"])

        session.end(Cause.AUTOMATIC_DISCONNECT, "idle for 15 minutes")
        ended = yield stream.next_event()
        failure = yield stream.next_event()
        counts = yield stream.next_event()
        self.assertEqual(json.loads(ended.data)["state"], "ended")
        self.assertEqual(json.loads(failure.data)["cause"]["code"], 8)
        self.assertEqual(json.loads(counts.data)["live"], 0)
        stream.transport.loseConnection()
        yield stream.closed

    @defer.inlineCallbacks
    def test_a_burst_of_changes_is_one_message_per_session(self):
        stream = yield open_events(self.port)
        yield stream.next_event()  # snapshot
        session = self.registry.open_session(SessionKind.DCNET_PPP, "127.0.0.1:42001")
        for _ in range(500):
            session.add_bytes(received=3, sent=2)
        update = yield stream.next_event()
        body = json.loads(update.data)
        self.assertEqual((body["received"], body["sent"]), (1500, 1000))
        counts = yield stream.next_event()
        self.assertEqual(counts.name, "counts")
        stream.transport.loseConnection()
        yield stream.closed

    @defer.inlineCallbacks
    def test_the_registry_is_watched_only_while_a_page_is_open(self):
        self.assertEqual(self.registry._subscribers, [])
        one = yield open_events(self.port)
        two = yield open_events(self.port)
        yield one.next_event()
        yield two.next_event()
        self.assertEqual(len(self.registry._subscribers), 1)
        self.registry.open_session(SessionKind.DCNET_PPP, "x")
        a = yield one.next_event()
        b = yield two.next_event()
        self.assertEqual(a, b)
        for stream in (one, two):
            stream.transport.loseConnection()
            yield stream.closed
        while self.served.page.events.pages:
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(self.registry._subscribers, [])

    @defer.inlineCallbacks
    def test_a_capture_downloads_by_session_number(self):
        capture = str(self.tmp_path / "capture.pcap")
        with open(capture, "wb") as sink:
            PcapWriter(sink, LinkType.PPP_WITH_DIR).write(1.0, b"\xff\x03\xc0\x21", 0)
        session = self.registry.open_session(SessionKind.DCNET_PPP, "x", pcap=capture)
        response = yield self.get(f"/pcap/{session.id}")
        self.assertEqual(response.status, 200)
        with open(capture, "rb") as f:
            self.assertEqual(response.body, f.read())
        self.assertEqual(response.headers["content-type"], "application/vnd.tcpdump.pcap")
        self.assertEqual(
            response.headers["content-disposition"],
            f'attachment; filename="dcsim-session-{session.id}.pcap"',
        )
        session.end()
        again = yield self.get(f"/pcap/{session.id}")
        self.assertEqual(again.status, 200, "an ended session's capture stays downloadable")

    @defer.inlineCallbacks
    def test_a_large_capture_arrives_whole_and_head_gives_its_size(self):
        capture = str(self.tmp_path / "capture.pcap")
        with open(capture, "wb") as sink:
            writer = PcapWriter(sink, LinkType.RAW)
            for i in range(300):
                writer.write(float(i), bytes([i % 256]) * 1400)
        session = self.registry.open_session(SessionKind.DCNET_PPP, "x", pcap=capture)
        response = yield self.get(f"/pcap/{session.id}")
        with open(capture, "rb") as f:
            expected = f.read()
        self.assertGreater(len(expected), 4 * 64 * 1024)
        self.assertEqual(response.body, expected)
        head = yield http_get(self.port, f"/pcap/{session.id}", method="HEAD")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.headers["content-length"], str(len(expected)))
        self.assertEqual(head.body, b"")

    @defer.inlineCallbacks
    def test_captures_refuse_anything_but_a_known_session_number(self):
        with open("/etc/hostname", "rb"):
            pass  # the file a traversal would reach exists
        bare = self.registry.open_session(SessionKind.MODEM_CALL, "x")
        folder = self.registry.open_session(SessionKind.MODEM_CALL, "z", pcap="/etc")
        lost = self.registry.open_session(
            SessionKind.MODEM_CALL, "y", pcap=self.tmp_path / "never-written.pcap"
        )
        for path in (
            "/pcap/../../../../etc/hostname",
            "/pcap/..%2F..%2F..%2F..%2Fetc%2Fhostname",
            "/pcap/%2e%2e/%2e%2e/etc/hostname",
            "/pcap/%2Fetc%2Fhostname",
            f"/pcap/{bare.id}",
            f"/pcap/{lost.id}",
            f"/pcap/{folder.id}",
            f"/pcap/{bare.id}/../../../etc/hostname",
            "/pcap/999",
            "/pcap/-1",
            "/pcap/1e3",
            "/pcap/%D9%A1",  # ARABIC-INDIC DIGIT ONE, a digit to str.isdigit
            "/pcap/" + "9" * 40,
            "/pcap/",
            "/pcap",
        ):
            response = yield self.get(path)
            self.assertEqual(response.status, 404, path)
            self.assertNotIn(b"localhost", response.body, path)

    @defer.inlineCallbacks
    def test_other_host_names_are_refused_on_loopback(self):
        for host in ("127.0.0.1:8080", "localhost", "[::1]:8080", "127.0.0.2"):
            response = yield self.get("/api/snapshot", host)
            self.assertEqual(response.status, 200, host)
        for host in ("rebind.example", "192.0.2.1", "localhost.example"):
            response = yield self.get("/api/snapshot", host)
            self.assertEqual(response.status, 421, host)
            self.assertNotIn(b"live", response.body)
            page = yield self.get("/", host)
            self.assertEqual(page.status, 421, host)


class PushRequest(DummyRequest):
    """DummyRequest drives any producer as a pull producer forever; a page is a push one."""

    def registerProducer(self, producer, streaming):
        assert streaming
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None


class PullRequest(DummyRequest):
    def registerProducer(self, producer, streaming):
        assert not streaming
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None


class CaptureSliceTests(unittest.SynchronousTestCase):
    @pytest.fixture(autouse=True)
    def _paths(self, tmp_path):
        self.tmp_path = tmp_path

    def test_a_growing_capture_is_sent_as_it_was_when_asked(self):
        path = self.tmp_path / "growing.pcap"
        with open(path, "wb") as f:
            f.write(b"a" * 100_000)
        registry = SessionRegistry(lambda: 0.0)
        session = registry.open_session(SessionKind.DCNET_PPP, "x", pcap=path)
        request = PullRequest([])
        page = StatusPage(registry, task.Clock(), allowed_hosts=None)
        child = page.getChildWithDefault(b"pcap", request)
        child = child.getChildWithDefault(str(session.id).encode(), request)
        self.assertEqual(child.render(request), server.NOT_DONE_YET)
        with open(path, "ab") as f:
            f.write(b"b" * 50_000)  # the session keeps capturing
        while request.producer is not None:
            request.producer.resumeProducing()
        self.assertEqual(b"".join(request.written), b"a" * 100_000)
        self.assertEqual(request.responseHeaders.getRawHeaders(b"content-length"), [b"100000"])
        self.assertEqual(request.finished, 1)


class MountTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_the_page_works_mounted_below_another_resource(self):
        registry = SessionRegistry(reactor.seconds)
        root = resource.Resource()
        root.putChild(b"status", StatusPage(registry, reactor))
        port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        bare = yield http_get(number, "/status")
        self.assertEqual(bare.status, 302)
        self.assertEqual(bare.headers["location"], f"http://127.0.0.1:{number}/status/")
        page = yield http_get(number, "/status/")
        self.assertIn(b'src="status.js"', page.body)
        snapshot = yield http_get(number, "/status/api/snapshot")
        self.assertEqual(json.loads(snapshot.body)["live"], [])
        refused = yield http_get(number, "/status", "rebind.example")
        self.assertEqual(refused.status, 421)


class StreamUnitTests(unittest.SynchronousTestCase):
    """The event stream on a fake clock with a fake request: timing and slow readers."""

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.registry = SessionRegistry(self.clock.seconds)
        self.stream = EventStream(self.registry, self.clock, interval=0.5, keepalive=15)
        self.request = PushRequest([])
        self.stream.render_GET(self.request)

    def sent(self) -> bytes:
        data = b"".join(self.request.written)
        del self.request.written[:]
        return data

    def test_changes_wait_for_the_interval_then_go_together(self):
        self.assertIn(b"event: snapshot\n", self.sent())
        session = self.registry.open_session(SessionKind.MODEM_CALL, "x")
        session.dialling("0570")
        session.set_state(State.TRAINING)
        self.clock.advance(0.4)
        self.assertEqual(self.sent(), b"")
        self.clock.advance(0.1)
        data = self.sent()
        self.assertEqual(data.count(b"event: session\n"), 1)
        self.assertIn(b'"state":"training"', data)
        self.assertTrue(data.endswith(b"\n\n"))

    def test_idle_streams_get_keepalive_comments(self):
        self.sent()
        self.clock.advance(15)
        self.assertEqual(self.sent(), b": keepalive\n\n")

    def test_a_page_that_stops_reading_gets_a_snapshot_when_it_resumes(self):
        self.sent()
        page = self.request.producer
        page.pauseProducing()
        session = self.registry.open_session(SessionKind.MODEM_CALL, "x")
        self.clock.advance(1)
        session.set_state(State.TRAINING)
        self.clock.advance(1)
        self.assertEqual(self.sent(), b"")
        page.resumeProducing()
        data = self.sent()
        self.assertTrue(data.startswith(b"event: snapshot\n"))
        self.assertIn(b'"state":"training"', data)

    def test_too_many_changes_in_one_batch_become_a_snapshot(self):
        self.sent()
        for i in range(1500):
            self.registry.open_session(SessionKind.DCNET_PPP, str(i))
        self.clock.advance(1)
        data = self.sent()
        self.assertEqual(data.count(b"event: "), 1)
        self.assertTrue(data.startswith(b"event: snapshot\n"))

    def test_the_last_page_leaving_stops_every_timer(self):
        self.registry.open_session(SessionKind.DCNET_PPP, "x")
        self.request.processingFailed(ConnectionError("gone"))
        self.assertEqual(self.stream.pages, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.registry._subscribers, [])

    def test_close_finishes_every_stream(self):
        self.stream.close()
        self.assertEqual(self.request.finished, 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class ListenTests(unittest.TestCase):
    def test_a_port_in_use_is_one_line_naming_the_setting(self):
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = Listen("tcp", "127.0.0.1", taken.getsockname()[1])
        registry = SessionRegistry(reactor.seconds)
        with self.assertRaises(Failed) as caught:
            listen_status(registry, reactor, listen)
        message = str(caught.exception)
        self.assertIn(str(listen), message)
        self.assertIn("status.listen", message)
        self.assertNotIn("\n", message)

    def test_udp_is_a_usage_error(self):
        with self.assertRaises(UsageError):
            listen_status(SessionRegistry(reactor.seconds), reactor, Listen("udp", "::1", 0))

    @defer.inlineCallbacks
    def test_it_listens_where_told(self):
        registry = SessionRegistry(reactor.seconds)
        port, _page = listen_status(registry, reactor, Listen("tcp", "127.0.0.1", 0))
        self.addCleanup(port.stopListening)
        self.assertEqual(port.getHost().host, "127.0.0.1")
        response = yield http_get(port.getHost().port, "/api/snapshot")
        self.assertEqual(json.loads(response.body)["counts"]["total"], 0)
        refused = yield http_get(port.getHost().port, "/api/snapshot", "evil.example")
        self.assertEqual(refused.status, 421)


any_text = st.text(st.characters(exclude_categories=()))  # lone surrogates too


@given(any_text, any_text, any_text)
def test_any_text_from_the_network_stays_inside_one_event(peer, name, reason):
    registry = SessionRegistry(lambda: 0.0)
    session = registry.open_session(SessionKind.DCNET_PPP, peer)
    session.dns_query(name, "A", [reason])
    session.end(Cause.SERVER_DOWN, reason)
    message = _message(b"session", encode.session_json(registry.session(session.id)))
    head, data_line, end = message.split(b"\n", 2)
    assert (head, end) == (b"event: session", b"\n")
    decoded = json.loads(data_line.removeprefix(b"data: "))
    assert (decoded["peer"], decoded["reason"]) == (peer, reason)
    assert decoded["dns"][0]["name"] == name
