"""Shared by the DNS tests: zones from text, queries as bytes."""

from __future__ import annotations

from pathlib import Path

from dnslib import EDNS0, QTYPE, DNSHeader, DNSLabel, DNSQuestion, DNSRecord

from dcsim.dns import names
from dcsim.dns.zone import Zone, Zones
from dcsim.dns.zonefile import Reader

ROOT = Path(__file__).resolve().parent.parent.parent
ZONES = ROOT / "configs" / "zones"


def zone(text: str, origin: str = "example.") -> Zone:
    label = names.from_text(origin)
    records = Reader(label).read_text(text, "test.zone", Path("."))
    return Zone(label, records, "test.zone")


def zones(*zs: Zone) -> Zones:
    return Zones(zs)


def query(
    name: str,
    qtype: str | int = "A",
    *,
    qid: int = 4321,
    rd: bool = False,
    edns: int | None = None,
    do: bool = False,
    version: int = 0,
) -> DNSRecord:
    code = qtype if isinstance(qtype, int) else getattr(QTYPE, qtype)
    record = DNSRecord(DNSHeader(qid, rd=int(rd)), q=DNSQuestion(DNSLabel(name), code))
    if edns is not None:
        record.add_ar(EDNS0(udp_len=edns, flags="do" if do else "", version=version))
    return record


def wire(name: str, qtype: str | int = "A", **kwargs) -> bytes:
    return bytes(query(name, qtype, **kwargs).pack())


EXAMPLE = """\
$TTL 3600
@       IN SOA  ns1 hostmaster 1 3600 900 604800 300
        IN NS   ns1
        IN NS   ns.elsewhere.test.
        IN MX   10 mail
ns1     IN A    192.0.2.53
mail    IN A    192.0.2.25
www     IN A    192.0.2.80
        IN AAAA 2001:db8::80
alias   IN CNAME www
chain   IN CNAME alias
outside IN CNAME www.elsewhere.test.
loop1   IN CNAME loop2
loop2   IN CNAME loop1
dangling IN CNAME nothing
*.wild  IN A    192.0.2.99
*.wild  IN TXT  "wildcard"
a.b.c   IN A    192.0.2.3
sub     IN NS   ns.sub
ns.sub  IN A    192.0.2.54
big     IN TXT  "01234567890123456789012345678901234567890123456789012345678901234567890"
big     IN TXT  "11234567890123456789012345678901234567890123456789012345678901234567890"
big     IN TXT  "21234567890123456789012345678901234567890123456789012345678901234567890"
big     IN TXT  "31234567890123456789012345678901234567890123456789012345678901234567890"
big     IN TXT  "41234567890123456789012345678901234567890123456789012345678901234567890"
big     IN TXT  "51234567890123456789012345678901234567890123456789012345678901234567890"
"""
