"""The listening-address argument every subcommand's --listen-style option uses."""

from __future__ import annotations

import argparse
from functools import partial

import pytest

from dcsim.address import Listen, listen_argument


def test_either_transport_by_default() -> None:
    assert listen_argument("udp:[::1]:53") == Listen("udp", "::1", 53)
    assert listen_argument("tcp:127.0.0.1:0") == Listen("tcp", "127.0.0.1", 0)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("sctp:127.0.0.1:1", "with transport tcp or udp"),
        ("tcp:localhost:1", "numeric IP address"),
        ("tcp:127.0.0.1:65536", "port number in [0, 65535]"),
        ("tcp:127.0.0.1", "expected transport:host:port"),
    ],
)
def test_a_bad_address_names_the_text_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as e:
        listen_argument(text)
    assert str(e.value).startswith(f"{text!r}: ") and reason in str(e.value)


def test_one_transport_only_refuses_the_other_with_the_callers_words() -> None:
    tcp_only = partial(listen_argument, only="tcp", refusal="a modem listens on tcp only")
    assert tcp_only("tcp:127.0.0.1:2323") == Listen("tcp", "127.0.0.1", 2323)
    with pytest.raises(argparse.ArgumentTypeError) as e:
        tcp_only("udp:127.0.0.1:2323")
    assert str(e.value) == "'udp:127.0.0.1:2323': a modem listens on tcp only"


def test_one_transport_only_without_words_says_what_it_expects() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected a udp: address"):
        listen_argument("tcp:127.0.0.1:7655", only="udp")


def test_argparse_reports_the_refusal_as_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    parser = argparse.ArgumentParser(prog="dcsim pso")
    parser.add_argument(
        "--listen", type=partial(listen_argument, only="tcp", refusal="PSO runs over TCP")
    )
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["--listen", "udp:127.0.0.1:9200"])
    assert e.value.code == 2
    assert "argument --listen: 'udp:127.0.0.1:9200': PSO runs over TCP" in capsys.readouterr().err
