"""DNS: zone files, the authoritative server, the ISP's recursive resolver and the
Dreamcast's stub resolver.

The wire format is dnslib's (:mod:`dcsim.dns.message` wraps it with the limits and error
handling a server needs). Cores are pure: :mod:`dcsim.dns.authority` answers a query from
zones and policy, :mod:`dcsim.dns.stub` is the Dreamcast's resolver as a sans-IO state
machine, :mod:`dcsim.dns.tcpframing` frames RFC 7766 streams. The Twisted edges
(:mod:`dcsim.dns.server`, :mod:`dcsim.dns.client`, :mod:`dcsim.dns.recursive`) take the
reactor as an argument, so they run unchanged on real sockets and on a virtual host.
"""
