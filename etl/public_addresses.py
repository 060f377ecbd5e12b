"""Image downloads reach public addresses only: a museum's API names the URLs, and an untrusted URL must not make
the pipeline fetch (and store the answer of) loopback, the private network or a cloud's metadata service.

The check is on the address actually connected to, after DNS and on every redirect: the resolver refuses a name
with any non-public answer, and the socket factory refuses a connection to one (an IP literal never meets the
resolver)."""

import ipaddress
import socket

from aiohttp import ClientConnectorError, TCPConnector, ThreadedResolver
from aiohttp.abc import ResolveResult

ALLOW_SETTING = "ARTSEARCH_DOWNLOAD_ALLOW_PRIVATE"


class RefusedAddress(OSError):
    """A connection the guard will not open: `host` resolves to `address`, which is not public."""

    def __init__(self, host: str, address: str, why: str) -> None:
        shown = address if host == address else f"{host} ({address})"
        super().__init__(f"{shown} is {why}; set {ALLOW_SETTING}=true to allow it")
        self.host = host
        self.address = address


def address_refusal(address: str) -> str | None:
    """What keeps an IP address from being fetched (loopback, private, ...), or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 literal may carry a zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for refused, why in checks if refused), None)


def refused_address(error: BaseException) -> RefusedAddress | None:
    """The guard's refusal behind an aiohttp connection error, if that is what it is."""
    if isinstance(error, RefusedAddress):
        return error
    if isinstance(error, ClientConnectorError) and isinstance(error.os_error, RefusedAddress):
        return error.os_error
    return None


class PublicResolver(ThreadedResolver):
    """The system resolver, refusing a name when any of its addresses is not public (no mixed answers: a rebinding
    name could otherwise be connected to its private one)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await super().resolve(host, port, family)
        for answer in answers:
            if why := address_refusal(answer["host"]):
                raise RefusedAddress(host, answer["host"], why)
        return answers


def public_socket(addr_info: tuple) -> socket.socket:
    """A socket for a public address only: the last check, which IP literals meet too."""
    family, kind, proto, _, sockaddr = addr_info
    if why := address_refusal(sockaddr[0]):
        raise RefusedAddress(sockaddr[0], sockaddr[0], why)
    return socket.socket(family=family, type=kind, proto=proto)


def connector(allow_private: bool) -> TCPConnector:
    """The download connector: no connection cap of its own (the client's per-host limits pace it), guarded
    unless private addresses are allowed."""
    if allow_private:
        return TCPConnector(limit=0)
    return TCPConnector(limit=0, resolver=PublicResolver(), socket_factory=public_socket)
