"""The Internet checksum (RFC 1071), computed with big-integer arithmetic.

The one's-complement sum of 16-bit words equals the value of the whole buffer, read as
one big-endian integer, modulo 0xFFFF (because 2**16 = 1 mod 0xFFFF). CPython does that
in C, which makes this several times faster than summing words in a loop.
"""

from __future__ import annotations

Bytes = bytes | bytearray | memoryview

_FROM = int.from_bytes


def ones_sum(data: Bytes) -> int:
    """The one's-complement sum of *data* (odd length padded with a zero byte), mod 0xFFFF."""
    n = _FROM(data, "big")
    if len(data) & 1:
        n <<= 8
    return n % 0xFFFF


def finish(total: int) -> int:
    """The checksum field for a one's-complement sum *total* (any non-negative int)."""
    return (0xFFFF - total % 0xFFFF) % 0xFFFF


def internet_checksum(data: Bytes, initial: int = 0) -> int:
    """The checksum to put in a header whose checksum field reads zero inside *data*."""
    return finish(initial + ones_sum(data))


def pseudo_header_sum(src: bytes, dst: bytes, proto: int, length: int) -> int:
    """The sum of the IPv4 pseudo-header (RFC 768, RFC 9293 3.1) for UDP and TCP."""
    return (_FROM(src, "big") + _FROM(dst, "big") + proto + length) % 0xFFFF
