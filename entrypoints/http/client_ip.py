"""The client's address, trusting X-Forwarded-For only from configured proxies.

The peer (the TCP connection's other end) is the client unless it is a trusted proxy. Then the
X-Forwarded-For lines, joined in order, are walked from the right: each trusted proxy vouches for
the address left of it, and the first address that is not a trusted proxy is the client. An entry
that is not an IP address ends the walk — nothing vouches for it — and the last address reached
stands. Rate limits count IPv4 clients per address and IPv6 clients per /64 network, the block a
single subscriber is usually given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from entrypoints.settings import IpNetwork

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

FORWARDED_FOR = b"x-forwarded-for"
# Longer than any written IP address with a port ("[" + 45 + "]:65535"): garbage, not parsed.
MAX_ENTRY_LENGTH = 54


def parse_address(entry: str) -> IpAddress | None:
    """An IP address as proxies write it (``a.b.c.d``, ``a.b.c.d:port``, ``v6``, ``[v6]``,
    ``[v6]:port``); IPv4-mapped IPv6 is the IPv4 address. ``None`` for anything else, including
    zone ids (``fe80::1%eth0``): a client must not pick arbitrary keys with them."""
    entry = entry.strip()
    if not entry or len(entry) > MAX_ENTRY_LENGTH or "%" in entry:
        return None
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _is_port(rest[1:]))):
            return None
        entry = host
    elif entry.count(":") == 1:  # IPv4 with a port; bare IPv6 has at least two colons
        entry, _, port = entry.partition(":")
        if not _is_port(port):
            return None
    try:
        address = ipaddress.ip_address(entry)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit() and int(text) <= 65535


def _trusted(address: IpAddress, networks: Sequence[IpNetwork]) -> bool:
    return any(address in network for network in networks)


def client_ip(
    peer: str | None, forwarded_for: str | Iterable[str] | None, trusted: Sequence[IpNetwork]
) -> str:
    """The client's address: ``forwarded_for`` is one X-Forwarded-For value, or every line of
    it in the order received (they are joined with commas, as RFC 9110 says they combine)."""
    peer_address = parse_address(peer) if peer else None
    if peer_address is None:
        return peer or "unknown"  # not an IP peer (a test client, a socket): nothing to walk
    if not forwarded_for or not trusted or not _trusted(peer_address, trusted):
        return str(peer_address)
    lines = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for)
    address = peer_address
    for entry in reversed(",".join(lines).split(",")):
        if not entry.strip():
            continue  # empty list elements are allowed and mean nothing
        hop = parse_address(entry)
        if hop is None:
            break
        address = hop
        if not _trusted(hop, trusted):
            break
    return str(address)


def limit_key(address: str) -> str:
    """What rate limits count a client address as: the IPv4 address, or its IPv6 /64."""
    parsed = parse_address(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(parsed) >> 64 << 64, 64)))
    return str(parsed)


def forwarded_for_lines(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every X-Forwarded-For line of raw ASGI headers, in order (bytes read as Latin-1)."""
    return [value.decode("latin-1") for name, value in headers if name.lower() == FORWARDED_FOR]


def client_key(
    peer: str | None, headers: Iterable[tuple[bytes, bytes]], trusted: Sequence[IpNetwork]
) -> str:
    """The rate-limit key of the client of a request with these raw ASGI headers."""
    forwarded = forwarded_for_lines(headers) if trusted else None
    return limit_key(client_ip(peer, forwarded, trusted))
