"""The virtual internet: real IPv4 datagrams between simulated hosts, links and routers.

``wire`` holds the codecs; the rest (hosts, links, routers, TCP) is built on them.
"""
