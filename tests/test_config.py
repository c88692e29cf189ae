"""The typed TOML loader: every error names file, key path, value and expectation."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim import config
from dcsim.address import Listen
from dcsim.config import ConfigError, setting
from dcsim.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


class Method(Enum):
    TONE = "tone"
    PULSE = "pulse"


@dataclass(frozen=True)
class Line:
    busy: bool = setting(False, "busy")
    drop_pct: float = setting(0.0, "loss", min=0, max=100)
    method: Method = setting(Method.TONE, "dial method")
    rate: int = setting(33600, "rate", min=300)


@dataclass(frozen=True)
class Sample:
    name: str = "x"
    line: Line = field(default_factory=Line)
    servers: list[ipaddress.IPv4Address] = field(default_factory=list)
    listen: tuple[Listen, ...] = ()
    mode: Literal["udp", "udp+tcp"] = "udp"
    phonebook: dict[str, Line] = field(default_factory=dict)
    path: Path | None = None


def error(text: str) -> str:
    with pytest.raises(ConfigError) as e:
        config.loads(text, Sample, "configs/2006.toml")
    return str(e.value)


def test_a_bad_number_names_file_key_value_and_range():
    assert error('[line]\ndrop_pct = "lots"') == (
        'configs/2006.toml: line.drop_pct: expected a number in [0, 100], got "lots"'
    )
    assert error("[line]\ndrop_pct = 101") == (
        "configs/2006.toml: line.drop_pct: expected a number in [0, 100], got 101"
    )


def test_unknown_keys_are_errors_with_a_suggestion():
    message = error("[line]\nbussy = true")
    assert message.startswith("configs/2006.toml: line.bussy: unknown key (did you mean 'busy'?)")
    assert "known keys: busy, drop_pct, method, rate" in message
    assert "did you mean" not in error("zzzzzz = 1")


def test_types_are_checked_where_they_stand():
    assert (
        error("[line]\nbusy = 1") == "configs/2006.toml: line.busy: expected true or false, got 1"
    )
    assert error("[line]\nrate = 1.5").endswith("line.rate: expected an integer >= 300, got 1.5")
    assert error("[line]\nrate = true").endswith("expected an integer >= 300, got true")
    assert error('[line]\nmethod = "dtmf"').endswith(
        'line.method: expected one of "tone", "pulse", got "dtmf"'
    )
    assert error('mode = "tcp"').endswith('mode: expected one of "udp", "udp+tcp", got "tcp"')
    assert error('servers = ["10.0.0.1", "10.0.0.300"]').endswith(
        'servers[1]: expected an IPv4 address, got "10.0.0.300"'
    )
    assert error("line = 3").endswith("line: expected a table, got 3")
    assert error('listen = ["tcp:localhost:53"]').endswith(
        "listen[0]: expected a numeric IP address as host, not 'localhost', "
        'got "tcp:localhost:53"'
    )
    assert error("[phonebook.0120]\nrate = 5").endswith(
        "phonebook.0120.rate: expected an integer >= 300, got 5"
    )


def test_good_values_become_typed_values():
    sample = config.loads(
        """
        servers = ["10.0.0.1"]
        listen = ["udp:127.0.0.1:5353", "tcp:[::1]:53"]
        mode = "udp+tcp"
        path = "~/x.db"
        [line]
        drop_pct = 5
        method = "pulse"
        [phonebook."0120-333"]
        busy = true
        """,
        Sample,
    )
    assert sample.servers == [ipaddress.IPv4Address("10.0.0.1")]
    assert sample.listen == (Listen("udp", "127.0.0.1", 5353), Listen("tcp", "::1", 53))
    assert str(sample.listen[1]) == "tcp:[::1]:53"
    assert sample.line == Line(drop_pct=5.0, method=Method.PULSE)
    assert sample.phonebook == {"0120-333": Line(busy=True)}
    assert sample.path == Path("~/x.db")


def test_broken_toml_and_missing_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[line\nbusy = true\n")
    with pytest.raises(ConfigError) as e:
        config.load(bad, Sample)
    assert str(e.value).startswith(f"{bad}: not valid TOML: ")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "absent.toml", Sample)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(binary, Sample)


def test_default_toml_is_generated_from_the_code_and_loads_back_equal():
    from dcsim.cli import DEFAULTS_TITLE

    text = (ROOT / "configs" / "default.toml").read_text()
    assert text == config.to_toml(Settings(), DEFAULTS_TITLE), (
        "configs/default.toml is stale: run `dcsim config defaults > configs/default.toml`"
    )
    assert config.load(ROOT / "configs" / "default.toml", Settings) == Settings()


def test_to_toml_round_trips_nested_tables_and_lists():
    sample = Sample(
        servers=[ipaddress.IPv4Address("192.0.2.1")],
        listen=(Listen("udp", "127.0.0.1", 53),),
        phonebook={"0120 333": Line(busy=True, method=Method.PULSE)},
    )
    assert config.loads(config.to_toml(sample), Sample) == sample


toml_scalars = st.one_of(
    st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.dictionaries(
        st.sampled_from(["name", "line", "servers", "listen", "mode", "phonebook", "path", "junk"]),
        toml_values,
        max_size=5,
    )
)
def test_any_table_loads_or_raises_config_error(data):
    try:
        config.from_mapping(data, Sample, "fuzz.toml")
    except ConfigError as e:
        assert str(e).startswith("fuzz.toml")
